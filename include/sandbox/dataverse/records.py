"""Stored rows as Dataverse JSON entities: `@odata.etag`, `_x_value` lookups, `versionnumber`, annotations.

Per-table column converters are worked out once, so a 5,000-row page is a tight loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sandbox.dataverse.schema import TABLE_FACTS
from sandbox.storage.database import VERSION_COLUMN
from sandbox.storage.repository import Row
from sandbox.storage.schema import Attribute, AttributeType, EntitySchema
from sandbox.storage.values import to_wire

VERSION_NUMBER = "versionnumber"  # the row version, exposed read-only on every table
FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"

Converter = Callable[[Any], Any]


def etag(version: int) -> str:
    return f'W/"{version}"'


def parse_etag(value: str) -> int | None:
    """The version in `W/"123"` (or `"123"`); None when it is not one of ours (never matches)."""
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    return int(text) if text.isdigit() else None


def _converter(attribute: Attribute) -> Converter:
    kind = attribute.type
    if kind in (AttributeType.STRING, AttributeType.MEMO, AttributeType.INTEGER, AttributeType.CHOICE):
        return lambda value: value
    if kind is AttributeType.BOOLEAN:
        return lambda value: value
    return lambda value: to_wire(attribute, value)


_COLUMNS: dict[int, tuple[EntitySchema, tuple[tuple[str, Attribute, Converter], ...]]] = {}


def _columns(schema: EntitySchema) -> tuple[tuple[str, Attribute, Converter], ...]:
    # Schemas hold dicts, so they are not hashable; the cache keeps each schema alive beside its id.
    cached = _COLUMNS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _COLUMNS[id(schema)] = (
            schema,
            tuple((a.column, a, _converter(a)) for a in schema.attributes),
        )
    return cached[1]


def selectable(schema: EntitySchema) -> set[str]:
    """Names `$select` accepts: attribute names, `_x_value` lookup columns and `versionnumber`."""
    names = {VERSION_NUMBER}
    for attribute in schema.attributes:
        names.add(attribute.column)
        if attribute.type is not AttributeType.LOOKUP:
            names.add(attribute.name)
    return names


def selected_columns(schema: EntitySchema, names: Iterable[str] | None) -> frozenset[str] | None:
    """Wire columns for a `$select` list (the key always included); None = every column."""
    if names is None:
        return None
    columns = {schema.key}
    for name in names:
        if name == VERSION_NUMBER:
            columns.add(VERSION_NUMBER)
            continue
        attribute = schema.attribute(name)
        if attribute is not None:
            columns.add(attribute.column)
    return frozenset(columns)


def entity(
    schema: EntitySchema,
    row: Row,
    columns: frozenset[str] | None = None,
    annotations: Annotator | None = None,
) -> dict[str, Any]:
    """One row as a JSON object (without `@odata.context`)."""
    out: dict[str, Any] = {"@odata.etag": etag(row[VERSION_COLUMN])}
    for column, attribute, convert in _columns(schema):
        if columns is not None and column not in columns:
            continue
        value = row.get(column)
        out[column] = None if value is None else convert(value)
        if annotations is not None and value is not None:
            annotations.annotate(out, schema, attribute, value)
    if columns is None or VERSION_NUMBER in columns:
        out[VERSION_NUMBER] = row[VERSION_COLUMN]
    return out


class Annotator:
    """Adds the annotations `Prefer: odata.include-annotations` asked for (formatted values, lookups).

    `wants` answers whether an annotation name was asked for; `lookup_table` names the table a
    lookup value points to (polymorphic lookups need a look at the data).
    """

    def __init__(
        self, wants: Callable[[str], bool], lookup_table: Callable[[Attribute, str], str | None]
    ) -> None:
        self.wants = wants
        self.lookup_table = lookup_table

    def annotate(self, out: dict[str, Any], schema: EntitySchema, attribute: Attribute, value: Any) -> None:
        column = attribute.column
        if attribute.type is AttributeType.LOOKUP:
            target = self.lookup_table(attribute, value)
            if target is not None and self.wants(LOOKUP_LOGICAL_NAME):
                out[f"{column}@{LOOKUP_LOGICAL_NAME}"] = target
            if target is not None and self.wants(ASSOCIATED_NAVIGATION):
                navigation = next((n for n, t in attribute.targets.items() if t == target), attribute.name)
                out[f"{column}@{ASSOCIATED_NAVIGATION}"] = navigation
            return
        if not self.wants(FORMATTED):
            return
        formatted = _formatted(schema, attribute, value)
        if formatted is not None:
            out[f"{column}@{FORMATTED}"] = formatted


def _formatted(schema: EntitySchema, attribute: Attribute, value: Any) -> str | None:
    if attribute.type is AttributeType.CHOICE:
        labels = TABLE_FACTS.get(schema.logical_name)
        by_value = labels.option_labels.get(attribute.name) if labels else None
        if by_value and value in by_value:
            return by_value[value]
        return str(value)
    if attribute.type is AttributeType.BOOLEAN:
        return "Yes" if value else "No"
    if attribute.type is AttributeType.MONEY:
        return f"{Decimal(value):,.2f}"
    return None


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def dumps(document: Any) -> bytes:
    """JSON for the wire (Decimals that do not fit a float exactly are written as floats)."""
    return json.dumps(document, cls=_Encoder, ensure_ascii=False, separators=(",", ":")).encode()
