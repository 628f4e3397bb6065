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
TEXT_ATTRIBUTE_KINDS = ("StringAttributeMetadata", "MemoAttributeMetadata")


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
        self._lengths: dict[str, dict[str, int]] = {}

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

    def text_lengths(self, logical_name: str) -> Mapping[str, int]:
        """Attribute logical name → MaxLength, for the table's text and multiline-text attributes."""
        if logical_name not in self._lengths:
            lengths: dict[str, int] = {}
            for kind in TEXT_ATTRIBUTE_KINDS:  # MaxLength is a property of these types only: cast to them
                document = self._hook.get_conn().get_json(
                    f"EntityDefinitions(LogicalName='{logical_name}')/Attributes/Microsoft.Dynamics.CRM.{kind}"
                    "?$select=LogicalName,MaxLength"
                )
                lengths.update(
                    (a["LogicalName"], int(a["MaxLength"]))
                    for a in document.get("value", [])
                    if a.get("MaxLength")
                )
            self._lengths[logical_name] = lengths
        return self._lengths[logical_name]


class BusinessCentralMetadata:
    """The entity sets of BC's API routes and their properties, from each route's `$metadata` (CSDL XML:
    BC serves no JSON form of it). `api` is the hook's: "v2.0", "custom" or `publisher/group/version`."""

    def __init__(self, hook: BusinessCentralHook) -> None:
        self._hook = hook
        self._routes: dict[str, dict[str, list[ElementTree.Element]]] = {}

    def route(self, api: str) -> str:
        return self._hook.route(api)

    def entity_sets(self, api: str) -> Mapping[str, frozenset[str]]:
        """Entity set name → the names of its properties (navigation properties included)."""
        return {name: frozenset(_names(elements)) for name, elements in self._document(api).items()}

    def text_lengths(self, api: str, entity_set: str) -> Mapping[str, int]:
        """Property name → MaxLength, for the entity set's properties that declare one (BC's Text and
        Code fields: what BC truncates a value to)."""
        return _max_lengths(self._document(api).get(entity_set, []))

    def _document(self, api: str) -> dict[str, list[ElementTree.Element]]:
        if api not in self._routes:
            response = self._hook.run(f"{self.route(api)}/$metadata", headers={"Accept": "application/xml"})
            self._routes[api] = _entity_set_properties(response.text)
        return self._routes[api]


def entity_sets_from_csdl(text: str) -> dict[str, frozenset[str]]:
    """Entity set → property names, from an OData v4 CSDL document (base types followed)."""
    return {name: frozenset(_names(elements)) for name, elements in _entity_set_properties(text).items()}


def text_lengths_from_csdl(text: str) -> dict[str, dict[str, int]]:
    """Entity set → {property: MaxLength} for the properties with a MaxLength facet."""
    return {name: _max_lengths(elements) for name, elements in _entity_set_properties(text).items()}


def _names(elements: list[ElementTree.Element]) -> set[str]:
    return {element.get("Name", "") for element in elements}


def _max_lengths(elements: list[ElementTree.Element]) -> dict[str, int]:
    return {
        element.get("Name", ""): int(length)
        for element in elements
        if (length := element.get("MaxLength", "")).isdigit()
    }


def _entity_set_properties(text: str) -> dict[str, list[ElementTree.Element]]:
    """Entity set → its type's Property and NavigationProperty elements (base types followed)."""
    root = ElementTree.fromstring(text)
    types: dict[str, ElementTree.Element] = {}
    for schema in root.iter(f"{_EDM}Schema"):
        prefixes = [schema.get("Namespace", ""), schema.get("Alias")]
        for entity_type in schema.findall(f"{_EDM}EntityType"):
            for prefix in filter(None, prefixes):
                types[f"{prefix}.{entity_type.get('Name')}"] = entity_type

    def properties(type_name: str, seen: frozenset[str] = frozenset()) -> list[ElementTree.Element]:
        entity_type = types.get(type_name)
        if entity_type is None or type_name in seen:
            return []
        own = [
            element
            for tag in ("Property", "NavigationProperty")
            for element in entity_type.findall(f"{_EDM}{tag}")
        ]
        base = entity_type.get("BaseType")
        return own + (properties(base, seen | {type_name}) if base else [])

    return {
        entity_set.get("Name", ""): properties(entity_set.get("EntityType", ""))
        for entity_set in root.iter(f"{_EDM}EntitySet")
    }
