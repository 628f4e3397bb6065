"""The names in the mappings checked against what the services declare: Dataverse tables, entity sets and
attributes, BC entity sets and properties per API route. A misspelled name is reported with the closest
valid one before a run, instead of as an HTTP 400 the run would retry.

Pure over the two metadata readers (`bcsync.registry.service_metadata`), so tests can hand in others.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from bcsync.registry.errors import Problem
from bcsync.registry.model import BcApi, BcEndpoint, IntegrationTableMapping
from bcsync.registry.registry import Registry
from bcsync.registry.service_metadata import DataverseTable


class DataverseNames(Protocol):
    def tables(self) -> Mapping[str, DataverseTable]: ...

    def attributes(self, logical_name: str) -> frozenset[str]: ...


class BusinessCentralNames(Protocol):
    def entity_sets(self, api: str) -> Mapping[str, frozenset[str]]: ...


def check_dataverse_names(registry: Registry, dataverse: DataverseNames) -> list[Problem]:
    """Each mapping's table, entity set, key, modified field, fields, extra reads and filter attributes;
    each option mapping's table and option set attribute."""
    problems: list[Problem] = []
    tables = dataverse.tables()
    entity_sets = {t.entity_set for t in tables.values()}
    for mapping in registry.mappings:
        file = registry.sources.get(mapping.name, "")
        table = tables.get(mapping.crm_entity)
        if table is None:
            hint = _hint(mapping.crm_entity, tables)
            message = f"crm_entity: {mapping.crm_entity!r} is not a Dataverse table{hint}"
            problems.append(Problem(file, message, mapping.name))
            continue
        attributes = dataverse.attributes(table.logical_name)
        for key, name in _table_level_attributes(mapping):
            if not _is_attribute(name, attributes):
                message = f"{key}: {_not_attribute(name, table.logical_name, attributes)}"
                problems.append(Problem(file, message, mapping.name))
        if mapping.crm_entity_set != table.entity_set:
            message = (
                f"crm_entity_set: {mapping.crm_entity_set!r} is not the entity set of "
                f"{table.logical_name} ({table.entity_set!r})"
            )
            problems.append(Problem(file, message, mapping.name))
        for name, lookup in mapping.crm_rule_lookups.items():
            if lookup.entity_set not in entity_sets:
                message = (
                    f"crm_rule_lookups.{name}.entity_set: {lookup.entity_set!r} is not a Dataverse entity "
                    f"set{_hint(lookup.entity_set, entity_sets)}"
                )
                problems.append(Problem(file, message, mapping.name))
        for f in mapping.fields:
            if f.crm_field and not _is_attribute(f.crm_field, attributes):
                message = f"crm_field: {_not_attribute(f.crm_field, table.logical_name, attributes)}"
                problems.append(Problem(file, message, mapping.name, f.label))
    for option_mapping in registry.option_mappings.values():
        where = f"option mapping {option_mapping.name}: "
        table = tables.get(option_mapping.crm_entity)
        if table is None:
            hint = _hint(option_mapping.crm_entity, tables)
            message = f"{where}crm_entity: {option_mapping.crm_entity!r} is not a Dataverse table{hint}"
        elif not _is_attribute(option_mapping.crm_option_field, dataverse.attributes(table.logical_name)):
            attributes = dataverse.attributes(table.logical_name)
            unknown = _not_attribute(option_mapping.crm_option_field, table.logical_name, attributes)
            message = f"{where}crm_option_field: {unknown}"
        else:
            continue
        problems.append(Problem(_option_file(registry, option_mapping.name), message))
    return problems


def check_business_central_names(registry: Registry, bc: BusinessCentralNames) -> list[Problem]:
    """Each mapping's entity sets on their API routes, key, modified field, fields, extra reads and filter
    properties; each option mapping's entity set."""
    problems: list[Problem] = []
    lookup_targets = {f.lookup.mapping for m in registry.mappings for f in m.fields if f.lookup}
    for mapping in registry.mappings:
        file = registry.sources.get(mapping.name, "")
        pages: dict[str, frozenset[str]] = {}  # API → the properties of the mapping's page on it
        for key, endpoint in (
            ("bc_endpoint", mapping.bc_endpoint),
            ("bc_extension_endpoint", mapping.bc_extension_endpoint),
        ):
            if endpoint is None:
                continue
            found = _page(bc, endpoint)
            if found is None:
                problems.append(Problem(file, f"{key}: {_not_entity_set(bc, endpoint)}", mapping.name))
            else:
                pages[endpoint.api.value] = found
        primary = pages.get(mapping.bc_endpoint.api.value)
        if primary is not None:
            for key, name in _primary_properties(mapping):
                if name not in primary:
                    message = f"{key}: {_not_property(name, mapping.bc_endpoint, primary)}"
                    problems.append(Problem(file, message, mapping.name))
        every_page = frozenset().union(*pages.values())
        if len(pages) == len(mapping.bc_endpoints):
            for key, name in _any_page_properties(mapping, mapping.name in lookup_targets):
                if name not in every_page:
                    message = f"{key}: {_not_property(name, mapping.bc_endpoint, every_page)}"
                    problems.append(Problem(file, message, mapping.name))
        for f in mapping.fields:
            endpoint = mapping.endpoint_of(f)
            properties = pages.get(endpoint.api.value) if endpoint else None
            read = f.bc_field and f.bc_field not in mapping.bc_computed_fields
            if read and endpoint and properties is not None and f.bc_field not in properties:
                message = f"bc_field: {_not_property(f.bc_field, endpoint, properties)}"
                problems.append(Problem(file, message, mapping.name, f.label))
    for option_mapping in registry.option_mappings.values():
        endpoint = option_mapping.bc_endpoint
        if _page(bc, endpoint) is None:
            message = f"option mapping {option_mapping.name}: bc_endpoint: {_not_entity_set(bc, endpoint)}"
            problems.append(Problem(_option_file(registry, option_mapping.name), message))
    return problems


# ---- which names -------------------------------------------------------------------------------------


def _table_level_attributes(mapping: IntegrationTableMapping) -> Iterator[tuple[str, str]]:
    yield "crm_key", mapping.crm_key
    yield "crm_modified_field", mapping.crm_modified_field
    yield from (("crm_read_also", name) for name in mapping.crm_read_also)
    yield from (("crm_rule_lookups", name) for name in mapping.crm_rule_lookups)
    if mapping.int_table_config_template:
        yield from (("int_table_config_template.values", n) for n in mapping.int_table_config_template.values)
    yield from (("integration_table_filter", n) for n in filter_names(mapping.integration_table_filter))


def _primary_properties(mapping: IntegrationTableMapping) -> Iterator[tuple[str, str]]:
    yield "bc_key", mapping.bc_key
    if mapping.bc_modified_field:
        yield "bc_modified_field", mapping.bc_modified_field
    yield from (("table_filter", name) for name in filter_names(mapping.table_filter))


def _any_page_properties(mapping: IntegrationTableMapping, looked_up: bool) -> Iterator[tuple[str, str]]:
    """Read from whichever page has them (the engine reads both pages of the same rows). The natural key
    is read only when other mappings look records up through this one."""
    if looked_up:
        yield "bc_natural_key", mapping.bc_natural_key
    yield from (("bc_read_also", name) for name in mapping.bc_read_also)


# Literals first, so a quoted 'statecode eq 1' is not read as a comparison.
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_COMPARED = re.compile(r"\b([A-Za-z_]\w*)\s+(?:eq|ne|gt|ge|lt|le|in)\s")
_FUNCTION_ARGUMENT = re.compile(r"\b(?:contains|startswith|endswith)\(\s*([A-Za-z_]\w*)\s*,")
_LOOKUP_VALUE = re.compile(r"^_(\w+)_value$")  # Dataverse's `_parentcustomerid_value` is `parentcustomerid`


def filter_names(odata_filter: str | None) -> list[str]:
    """The properties an OData `$filter` compares (`statecode eq 0`, `contains(name,'x')`), in order."""
    text = _LITERAL.sub("''", odata_filter or "")
    names = _COMPARED.findall(text) + _FUNCTION_ARGUMENT.findall(text)
    names = [_LOOKUP_VALUE.sub(r"\1", name) for name in names if name not in ("and", "or", "not")]
    return list(dict.fromkeys(names))


# ---- messages ------------------------------------------------------------------------------------------


def _is_attribute(name: str, attributes: frozenset[str]) -> bool:
    # `owneridtype` says which table a polymorphic lookup points at; bcsync writes it by choosing the
    # lookup's navigation property, so the lookup attribute existing is what counts.
    return name in attributes or (name.endswith("idtype") and name.removesuffix("type") in attributes)


def _not_attribute(name: str, table: str, attributes: Iterable[str]) -> str:
    return f"{name!r} is not an attribute of {table} in Dataverse{_hint(name, attributes)}"


def _not_property(name: str, endpoint: BcEndpoint, properties: Iterable[str]) -> str:
    hint = _hint(name, properties)
    return f"{name!r} is not a property of {endpoint.entity_set} on {_api_name(endpoint)}{hint}"


def _not_entity_set(bc: BusinessCentralNames, endpoint: BcEndpoint) -> str:
    hint = _hint(endpoint.entity_set, bc.entity_sets(endpoint.api.value))
    return f"entity set {endpoint.entity_set!r} is not on {_api_name(endpoint)}{hint}"


def _api_name(endpoint: BcEndpoint) -> str:
    return "BC's custom API" if endpoint.api is BcApi.CUSTOM else f"BC's API {endpoint.api}"


def _page(bc: BusinessCentralNames, endpoint: BcEndpoint) -> frozenset[str] | None:
    return bc.entity_sets(endpoint.api.value).get(endpoint.entity_set)


def _hint(name: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'telephone1'?` for the closest valid name, case forgiven; empty without one."""
    by_folded = {c.casefold(): c for c in candidates}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"; did you mean {by_folded[close[0]]!r}?" if close else ""


def _option_file(registry: Registry, name: str) -> str:
    return registry.sources.get(name, "")
