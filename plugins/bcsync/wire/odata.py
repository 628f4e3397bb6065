"""OData literals, a small `$filter` builder, `$select` and query-string encoding for both services.

Values only ever enter a URL through `literal` + `encode_query`/`key_segment`, so a name such as
`O'Brien & Co` can neither break nor extend a filter.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

# Property paths: `name`, `_parentcustomerid_value`, `sdkmessageid/name`.
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
# Characters left readable in query values; everything else (& + # ? ; = space %) is percent-encoded.
_QUERY_SAFE = "$'(),:/@*-._~"
# Inside a key segment `/` and `?` would end the path; keep only what cannot.
_KEY_SAFE = "'(),=:@*-._~"

Value = str | int | float | Decimal | bool | uuid.UUID | dt.datetime | dt.date | None


def property_name(name: str) -> str:
    """`name` if it is a plain property path, else ValueError (a field name is never a place for data)."""
    if not isinstance(name, str) or not _PROPERTY.match(name):
        raise ValueError(f"not an OData property name: {name!r}")
    return name


def literal(value: Value) -> str:
    """The OData literal for a Python value (not yet URL-encoded).

    Strings are single-quoted with quotes doubled; GUIDs (`uuid.UUID`), numbers and booleans are bare;
    datetimes are ISO 8601 in UTC with `Z` (naive datetimes are refused: their zone is unknown).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} has no OData literal")
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone (UTC)")
        text = value.astimezone(dt.UTC).isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return text.replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no OData literal for {type(value).__name__}")


@dataclass(frozen=True)
class Filter:
    """A `$filter` expression; combine with `&` and `|` (each side is parenthesised)."""

    expression: str

    def __and__(self, other: Filter) -> Filter:
        return Filter(f"({self.expression}) and ({other.expression})")

    def __or__(self, other: Filter) -> Filter:
        return Filter(f"({self.expression}) or ({other.expression})")

    def __str__(self) -> str:
        return self.expression


def _compare(operator: str, field: str, value: Value) -> Filter:
    return Filter(f"{property_name(field)} {operator} {literal(value)}")


def eq(field: str, value: Value) -> Filter:
    return _compare("eq", field, value)


def ne(field: str, value: Value) -> Filter:
    return _compare("ne", field, value)


def gt(field: str, value: Value) -> Filter:
    return _compare("gt", field, value)


def ge(field: str, value: Value) -> Filter:
    return _compare("ge", field, value)


def lt(field: str, value: Value) -> Filter:
    return _compare("lt", field, value)


def le(field: str, value: Value) -> Filter:
    return _compare("le", field, value)


def in_(field: str, values: Iterable[Value]) -> Filter:
    """`field` equals one of `values`, spelled as `or` so both services accept it."""
    values = list(values)
    if not values:
        raise ValueError(f"in_({field!r}) needs at least one value")
    name = property_name(field)
    return Filter(" or ".join(f"{name} eq {literal(value)}" for value in values))


def all_of(*filters: Filter | None) -> Filter | None:
    """The `and` of the given filters, skipping None; None when there are none."""
    present = [f for f in filters if f is not None]
    if not present:
        return None
    combined = present[0]
    for f in present[1:]:
        combined = combined & f
    return combined


def select(fields: Iterable[str]) -> str:
    """A `$select` value: validated names, duplicates dropped, order kept."""
    names = list(dict.fromkeys(property_name(f) for f in fields))
    if not names:
        raise ValueError("$select needs at least one column")
    return ",".join(names)


def orderby(fields: Iterable[str]) -> str:
    """An `$orderby` value from `"name"` or `"name desc"` items."""
    parts = []
    for item in fields:
        name, _, direction = item.strip().partition(" ")
        if direction.strip() not in ("", "asc", "desc"):
            raise ValueError(f"bad $orderby direction in {item!r}")
        parts.append(f"{property_name(name)} {direction.strip()}".strip())
    return ",".join(parts)


def encode_query(options: Mapping[str, str | None]) -> str:
    """A query string (`$select=...&$filter=...`) with every value percent-encoded; None values skipped."""
    return "&".join(
        f"{quote(name, safe='$@')}={quote(value, safe=_QUERY_SAFE)}"
        for name, value in options.items()
        if value is not None
    )


def query_options(
    *,
    select_fields: Iterable[str] | None = None,
    filter: Filter | str | None = None,
    orderby_fields: Iterable[str] | None = None,
    top: int | None = None,
) -> dict[str, str | None]:
    """The `$`-options of a collection read, ready for `encode_query`."""
    return {
        "$select": select(select_fields) if select_fields is not None else None,
        "$filter": str(filter) if filter is not None else None,
        "$orderby": orderby(orderby_fields) if orderby_fields else None,
        "$top": str(int(top)) if top is not None else None,
    }


def key_segment(key: Value | Mapping[str, Value]) -> str:
    """`(<key>)` for a GUID or single value, `(a='x',b=2)` for an alternate key; path-encoded."""
    if isinstance(key, Mapping):
        if not key:
            raise ValueError("an alternate key needs at least one column")
        inner = ",".join(f"{property_name(name)}={literal(value)}" for name, value in key.items())
    elif isinstance(key, str) and _is_guid(key):
        inner = str(uuid.UUID(key))
    else:
        inner = literal(key)
    return quote(f"({inner})", safe=_KEY_SAFE)


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36
