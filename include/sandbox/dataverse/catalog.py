"""The tables one Dataverse app serves, indexed by entity set and logical name, with navigation properties.

Single-valued navigation properties come from lookups (`parentcustomerid_account`); collection-valued
ones from `TableFacts.collections` (`contact_customer_accounts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from sandbox.dataverse.errors import segment_not_found
from sandbox.dataverse.schema import TABLE_FACTS, TableFacts
from sandbox.storage.schema import Attribute, AttributeType, EntitySchema


@dataclass(frozen=True)
class Navigation:
    """A navigation property of `source`: `attribute` is the lookup (on `source` when single-valued,
    on `target` when a collection)."""

    name: str
    source: EntitySchema
    target: EntitySchema
    attribute: Attribute
    collection: bool


class Catalog:
    def __init__(self, schemas: Iterable[EntitySchema]) -> None:
        self.schemas = tuple(schemas)
        self.by_set = {schema.set_name: schema for schema in self.schemas}
        self.by_logical_name = {schema.logical_name: schema for schema in self.schemas}

    def entity_set(self, name: str) -> EntitySchema:
        schema = self.by_set.get(name)
        if schema is None:
            raise segment_not_found(name)
        return schema

    def facts(self, schema: EntitySchema) -> TableFacts:
        return TABLE_FACTS.get(schema.logical_name) or TableFacts("UserOwned")

    def navigation(self, schema: EntitySchema, name: str) -> Navigation | None:
        return self._navigations.get(schema.logical_name, {}).get(name)

    def navigations(self, schema: EntitySchema) -> dict[str, Navigation]:
        return self._navigations.get(schema.logical_name, {})

    def max_lengths(self, schema: EntitySchema) -> dict[str, int]:
        return {a.name: a.max_length for a in schema.attributes if a.max_length is not None}

    @cached_property
    def _navigations(self) -> dict[str, dict[str, Navigation]]:
        index: dict[str, dict[str, Navigation]] = {schema.logical_name: {} for schema in self.schemas}
        for schema in self.schemas:
            for attribute in schema.attributes:
                if attribute.type is not AttributeType.LOOKUP:
                    continue
                for name, target_name in attribute.targets.items():
                    target = self.by_logical_name.get(target_name)
                    if target is not None:
                        index[schema.logical_name][name] = Navigation(name, schema, target, attribute, False)
            for name, (child_name, lookup_name) in self.facts(schema).collections.items():
                child = self.by_logical_name.get(child_name)
                lookup = child.attribute(lookup_name) if child else None
                if child is not None and lookup is not None:
                    index[schema.logical_name][name] = Navigation(name, schema, child, lookup, True)
        return index
