"""The online name checks over metadata given in code: which names are checked and how misses read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from bcsync.registry import Registry, load_registry
from bcsync.registry.metadata_checks import check_business_central_names, check_dataverse_names, filter_names
from bcsync.registry.service_metadata import DataverseTable, entity_sets_from_csdl

WriteMappings = Callable[..., Path]

CSDL = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>
<Schema Namespace="Microsoft.NAV" Alias="nav" xmlns="http://docs.oasis-open.org/odata/ns/edm">
<EntityType Name="entity" Abstract="true"><Property Name="id" Type="Edm.Guid"/></EntityType>
<EntityType Name="currency" BaseType="nav.entity"><Property Name="code" Type="Edm.String"/>
<NavigationProperty Name="exchangeRates" Type="Collection(Microsoft.NAV.rate)"/></EntityType>
<EntityContainer Name="NAV">
<EntitySet Name="currencies" EntityType="Microsoft.NAV.currency"/></EntityContainer>
</Schema></edmx:DataServices></edmx:Edmx>"""


class FakeDataverse:
    """Tables by logical name: (entity set, attributes)."""

    def __init__(self, tables: Mapping[str, tuple[str, set[str]]]) -> None:
        self._tables = tables

    def tables(self) -> Mapping[str, DataverseTable]:
        return {
            name: DataverseTable(name, entity_set, f"{name}id")
            for name, (entity_set, _) in self._tables.items()
        }

    def attributes(self, logical_name: str) -> frozenset[str]:
        return frozenset(self._tables[logical_name][1])


class FakeBusinessCentral:
    def __init__(self, entity_sets: Mapping[str, Mapping[str, frozenset[str]]]) -> None:
        self._entity_sets = entity_sets

    def entity_sets(self, api: str) -> Mapping[str, frozenset[str]]:
        return self._entity_sets[api]


def currency_only(write_mappings: WriteMappings, small_mappings) -> Registry:
    return load_registry(write_mappings({"currency.yaml": small_mappings["currency.yaml"]}), strict=True)


def test_the_entity_sets_of_a_csdl_document_with_inherited_and_navigation_properties():
    assert entity_sets_from_csdl(CSDL) == {"currencies": frozenset({"id", "code", "exchangeRates"})}


def test_filter_names_are_the_compared_properties_outside_literals():
    text = "statecode eq 0 and (contains(name,'x eq y') or _parentcustomerid_value ne null) and type in ('a')"
    assert filter_names(text) == ["statecode", "parentcustomerid", "type", "name"]
    assert filter_names(None) == []


def test_a_polymorphic_lookups_type_counts_as_its_lookup(write_mappings: WriteMappings, small_mappings):
    currency = small_mappings["currency.yaml"]["mappings"][0]
    currency["fields"].append(
        {"crm_field": "owneridtype", "constant": "systemuser", "direction": "ToIntegrationTable"}
    )
    registry = currency_only(write_mappings, small_mappings)
    attributes = {"transactioncurrencyid", "isocurrencycode", "modifiedon", "ownerid"}
    dataverse = FakeDataverse({"transactioncurrency": ("transactioncurrencies", attributes)})
    assert check_dataverse_names(registry, dataverse) == []


def test_a_missing_table_is_reported_once_with_the_closest_name(
    write_mappings: WriteMappings, small_mappings
):
    registry = currency_only(write_mappings, small_mappings)
    [problem] = check_dataverse_names(registry, FakeDataverse({"transactioncurrencies": ("x", set())}))
    assert problem.mapping == "CURRENCY" and problem.field is None
    assert problem.message == (
        "crm_entity: 'transactioncurrency' is not a Dataverse table; did you mean 'transactioncurrencies'?"
    )


def test_a_bc_key_missing_from_the_page_is_named_without_a_far_fetched_hint(
    write_mappings: WriteMappings, small_mappings
):
    registry = currency_only(write_mappings, small_mappings)
    bc = FakeBusinessCentral({"v2.0": {"currencies": frozenset({"code", "lastModifiedDateTime"})}})
    [problem] = check_business_central_names(registry, bc)
    assert problem.message == "bc_key: 'id' is not a property of currencies on BC's API v2.0"
