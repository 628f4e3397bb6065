"""Parsing of `$select`, `$orderby`, `$top` and `$expand`, validated against the entity schema if known."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sandbox.odata.errors import ODataError, ODataSyntaxError, UnsupportedQueryOption
from sandbox.odata.filter_compiler import resolve_property
from sandbox.storage.schema import EntitySchema

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_EXPAND_OPTIONS = ("$select", "$filter", "$orderby", "$top", "$expand")


def parse_select(text: str, schema: EntitySchema) -> tuple[str, ...]:
    """The wire columns named by `$select`, in order, without repeats; `*` means every column."""
    columns: list[str] = []
    for name, position in _items(text, ",", "$select"):
        if name == "*":
            names = [attribute.column for attribute in schema.attributes]
        else:
            names = [resolve_property(schema, _checked_name(name, text, position), position).column]
        columns.extend(column for column in names if column not in columns)
    return tuple(columns)


def parse_orderby(text: str, schema: EntitySchema) -> list[tuple[str, bool]]:
    """`prop [asc|desc], ...` as (wire column, descending) pairs, the form `Repository.query` takes."""
    ordering: list[tuple[str, bool]] = []
    for item, position in _items(text, ",", "$orderby"):
        parts = item.split()
        if len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
            raise ODataSyntaxError("expected 'property', 'property asc' or 'property desc'", text, position)
        attribute = resolve_property(schema, _checked_name(parts[0], text, position), position)
        ordering.append((attribute.column, len(parts) == 2 and parts[1] == "desc"))
    return ordering


def parse_top(text: str) -> int:
    """`$top` as a non-negative integer."""
    value = text.strip()
    if not value.isdigit():
        raise ODataError(f"The value '{text}' of $top is not valid: it must be a non-negative integer.")
    return int(value)


@dataclass(frozen=True)
class ExpandItem:
    """One `$expand` entry: a navigation property and its nested options, still as text.

    The service resolves `navigation` to a target schema and validates the options against it
    (`parse_select`, `filter_clause`, `parse_orderby`).
    """

    navigation: str
    select: str | None = None
    filter: str | None = None
    orderby: str | None = None
    top: int | None = None
    expand: tuple[ExpandItem, ...] = field(default=())


def parse_expand(text: str) -> tuple[ExpandItem, ...]:
    """`nav1($select=a,b;$filter=...),nav2` as ExpandItems (navigation names are not validated here)."""
    items: list[ExpandItem] = []
    for entry, position in _items(text, ",", "$expand"):
        open_at = entry.find("(")
        if open_at < 0:
            items.append(ExpandItem(_checked_name(entry, text, position)))
            continue
        if not entry.endswith(")"):
            raise ODataSyntaxError(
                "expected ')' at the end of the expand options", text, position + len(entry)
            )
        navigation = _checked_name(entry[:open_at].strip(), text, position)
        options = _expand_options(entry[open_at + 1 : -1], text, position + open_at + 1)
        items.append(ExpandItem(navigation, **options))  # type: ignore[arg-type]
    return tuple(items)


def _expand_options(inner: str, text: str, offset: int) -> dict[str, object]:
    options: dict[str, object] = {}
    for option, position in _items(inner, ";", "$expand options", offset=offset):
        name, equals, value = option.partition("=")
        name = name.strip()
        if not equals:
            raise ODataSyntaxError(f"expected '=' after '{name}'", text, position)
        if name not in _EXPAND_OPTIONS:
            raise UnsupportedQueryOption(
                f"The query option '{name}' is not supported inside $expand "
                f"(supported: {', '.join(_EXPAND_OPTIONS)}).",
                position=position,
            )
        key = name[1:]
        if key in options:
            raise ODataSyntaxError(f"'{name}' is given twice", text, position)
        value = value.strip()
        if key == "top":
            options[key] = parse_top(value)
        elif key == "expand":
            options[key] = parse_expand(value)
        else:
            options[key] = value
    return options


def _checked_name(name: str, text: str, position: int) -> str:
    if "/" in name:
        raise UnsupportedQueryOption(
            f"Navigation paths such as '{name}' are not supported here.", position=position
        )
    if not _NAME.match(name):
        raise ODataSyntaxError(f"'{name}' is not a property name", text, position)
    return name


def _items(text: str, separator: str, option: str, *, offset: int = 0) -> list[tuple[str, int]]:
    """`text` split at `separator` outside quotes and parentheses, each item stripped, with its offset."""
    items: list[tuple[str, int]] = []
    depth = 0
    quoted = False
    start = 0
    for index, char in enumerate(text + separator):
        if char == "'":
            quoted = not quoted  # a doubled quote toggles twice, staying inside the string
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ODataSyntaxError(f"unbalanced ')' in {option}", text, index)
        elif char == separator and depth == 0:
            item = text[start:index]
            stripped = item.strip()
            if not stripped:
                raise ODataSyntaxError(f"empty item in {option}", text, offset + start)
            items.append((stripped, offset + start + len(item) - len(item.lstrip())))
            start = index + 1
    if quoted:
        raise ODataSyntaxError(f"unterminated string literal in {option}", text, len(text))
    if depth != 0:
        raise ODataSyntaxError(f"unbalanced '(' in {option}", text, len(text))
    return items
