"""What the services declare exists: Dataverse tables and their attributes (`EntityDefinitions`), and the
entity sets of a BC API route with their properties (`$metadata`), read through the bcsync hooks' public
request methods, each document once.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bcsync.hooks import BusinessCentralHook, DataverseHook

_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@dataclass(frozen=True)
class DataverseTable:
    logical_name: str
    entity_set: str
    primary_id: str


class DataverseMetadata:
    """Dataverse's `EntityDefinitions`: one request for the tables, one per table for its attributes.

    EntityDefinitions (not `$metadata`, tens of megabytes on a real environment) name attributes by
    logical name, as the mappings do: `parentcustomerid`, not `_parentcustomerid_value`.
    """

    def __init__(self, hook: DataverseHook) -> None:
        self._hook = hook
        self._tables: dict[str, DataverseTable] | None = None
        self._attributes: dict[str, frozenset[str]] = {}

    def tables(self) -> Mapping[str, DataverseTable]:
        """Every table by logical name."""
        if self._tables is None:
            document = self._hook.get_conn().get_json(
                "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute"
            )
            self._tables = {
                item["LogicalName"]: DataverseTable(
                    item["LogicalName"], item.get("EntitySetName") or "", item.get("PrimaryIdAttribute") or ""
                )
                for item in document.get("value", [])
            }
        return self._tables

    def attributes(self, logical_name: str) -> frozenset[str]:
        """The attribute logical names of a table (which must be one of `tables()`)."""
        if logical_name not in self._attributes:
            document = self._hook.get_conn().get_json(
                f"EntityDefinitions(LogicalName='{logical_name}')/Attributes?$select=LogicalName"
            )
            self._attributes[logical_name] = frozenset(a["LogicalName"] for a in document.get("value", []))
        return self._attributes[logical_name]


class BusinessCentralMetadata:
    """The entity sets of BC's API routes and their properties, from each route's `$metadata` (CSDL XML:
    BC serves no JSON form of it). `api` is the hook's: "v2.0", "custom" or `publisher/group/version`."""

    def __init__(self, hook: BusinessCentralHook) -> None:
        self._hook = hook
        self._routes: dict[str, dict[str, frozenset[str]]] = {}

    def route(self, api: str) -> str:
        return self._hook.route(api)

    def entity_sets(self, api: str) -> Mapping[str, frozenset[str]]:
        """Entity set name → the names of its properties (navigation properties included)."""
        if api not in self._routes:
            response = self._hook.run(f"{self.route(api)}/$metadata", headers={"Accept": "application/xml"})
            self._routes[api] = entity_sets_from_csdl(response.text)
        return self._routes[api]


def entity_sets_from_csdl(text: str) -> dict[str, frozenset[str]]:
    """Entity set → property names, from an OData v4 CSDL document (base types followed)."""
    root = ElementTree.fromstring(text)
    types: dict[str, ElementTree.Element] = {}
    for schema in root.iter(f"{_EDM}Schema"):
        prefixes = [schema.get("Namespace", ""), schema.get("Alias")]
        for entity_type in schema.findall(f"{_EDM}EntityType"):
            for prefix in filter(None, prefixes):
                types[f"{prefix}.{entity_type.get('Name')}"] = entity_type

    def properties(type_name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        entity_type = types.get(type_name)
        if entity_type is None or type_name in seen:
            return set()
        names = {
            element.get("Name", "")
            for tag in ("Property", "NavigationProperty")
            for element in entity_type.findall(f"{_EDM}{tag}")
        }
        base = entity_type.get("BaseType")
        return names | (properties(base, seen | {type_name}) if base else set())

    return {
        entity_set.get("Name", ""): frozenset(properties(entity_set.get("EntityType", "")))
        for entity_set in root.iter(f"{_EDM}EntitySet")
    }
