"""The mappings name real properties: every BC field is on its API page, every Sales field on its table.

The local services declare each page and table once (include/sandbox/bc/pages.py,
include/sandbox/dataverse/schema.py), so a renamed property there shows up here first.
"""

from __future__ import annotations

import re

import pytest

from bcsync.registry import IntegrationTableMapping, Registry, load_registry

pages = pytest.importorskip("sandbox.bc.pages")
dataverse = pytest.importorskip("sandbox.dataverse.schema")

# `<lookup>idtype` constants are not Web API attributes: the engine writes them by choosing the lookup's
# navigation property (ownerid → /systemusers(…), parentcustomerid_account).
WRITTEN_THROUGH_LOOKUP_BINDING = {"owneridtype", "parentcustomeridtype"}

REGISTRY = load_registry()


def _page(api: str, entity_set: str):
    route = next(r for r in pages.ROUTES if r.name == api)
    return pages.PAGE_INDEXES[route.path].page(entity_set)


@pytest.mark.parametrize("mapping", REGISTRY.mappings, ids=lambda m: m.name)
def test_every_bc_field_is_a_property_of_its_api_page(mapping: IntegrationTableMapping) -> None:
    for endpoint in mapping.bc_endpoints:
        page = _page(endpoint.api.value, endpoint.entity_set)
        assert page is not None, f"no {endpoint.api} page {endpoint.entity_set}"
        assert mapping.bc_key in page.by_name
        assert mapping.bc_modified_field is None or mapping.bc_modified_field in page.by_name
    missing = []
    for f in mapping.fields:
        endpoint = mapping.endpoint_of(f)
        if (
            f.bc_field
            and f.bc_field not in mapping.bc_computed_fields  # computed by the table's source rule
            and endpoint
            and f.bc_field not in _page(endpoint.api.value, endpoint.entity_set).by_name
        ):
            missing.append(f.label)
    assert missing == []


@pytest.mark.parametrize("mapping", REGISTRY.mappings, ids=lambda m: m.name)
def test_filters_compare_real_properties(mapping: IntegrationTableMapping) -> None:
    page = _page(mapping.bc_endpoint.api.value, mapping.bc_endpoint.entity_set)
    assert set(_compared(mapping.table_filter)) <= page.by_name.keys()
    attributes = {a.column for a in dataverse.BY_LOGICAL_NAME[mapping.crm_entity].attributes}
    assert set(_compared(mapping.integration_table_filter)) <= attributes


def _compared(odata_filter: str | None) -> list[str]:
    return re.findall(r"(\w+) (?:eq|ne|gt|ge|lt|le) ", odata_filter or "")


@pytest.mark.parametrize("mapping", REGISTRY.mappings, ids=lambda m: m.name)
def test_every_crm_field_is_an_attribute_of_its_dataverse_table(mapping: IntegrationTableMapping) -> None:
    schema = dataverse.BY_LOGICAL_NAME[mapping.crm_entity]
    assert schema.set_name == mapping.crm_entity_set
    assert schema.key == mapping.crm_key
    assert schema.modified_on == mapping.crm_modified_field
    names = {a.name for a in schema.attributes}
    missing = [
        f.crm_field
        for f in mapping.fields
        if f.crm_field and f.crm_field not in names and f.crm_field not in WRITTEN_THROUGH_LOOKUP_BINDING
    ]
    assert missing == []


def test_option_mappings_name_real_option_sets(registry: Registry) -> None:
    for option_mapping in registry.option_mappings.values():
        facts = dataverse.TABLE_FACTS[option_mapping.crm_entity]
        labels = facts.option_labels[option_mapping.crm_option_field]
        for row in option_mapping.values:
            assert labels.get(row.option_value) == row.caption
