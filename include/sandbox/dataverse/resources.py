"""Resource paths of the Web API: entity sets, key predicates, alternate keys and `@odata.bind` URLs.

`parse_path` turns `accounts(accountnumber='A1')/Microsoft.Dynamics.CRM.X` into parts; `locate`
finds the row a key predicate names, accepting alternate keys only when the table declares them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sandbox.dataverse.errors import bad_request, invalid_key, record_not_found
from sandbox.storage.repository import Row, UnitOfWork
from sandbox.storage.schema import EntitySchema
from sandbox.storage.values import parse_guid

API_PREFIX = "/api/data/v9.2"
_SEGMENT = re.compile(r"(?P<name>[^/(]+)(?:\((?P<key>(?:[^()']|'(?:[^']|'')*')*)\))?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")


@dataclass(frozen=True)
class KeyPredicate:
    """`(guid)` → primary; `(name='x',other=1)` → named values (raw literals already decoded)."""

    primary: str | None = None
    named: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    name: str
    key: KeyPredicate | None = None
    raw_key: str | None = None


def parse_segments(path: str) -> list[Segment]:
    """Split a resource path (after `/api/data/v9.2/`) into named segments with optional keys."""
    segments: list[Segment] = []
    position = 0
    path = path.strip("/")
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None or match.end() == position:
            raise bad_request(
                f"The request URI is not valid. Since the segment '{path[position:]}' is not valid."
            )
        raw_key = match.group("key")
        # `WhoAmI()` calls a function: empty parentheses are not a key.
        key = parse_key(raw_key) if raw_key else None
        segments.append(Segment(unquote(match.group("name")), key, raw_key))
        position = match.end()
        if position < len(path):
            if path[position] != "/":
                raise bad_request(f"Bad Request - Error in query syntax: '{path}'.")
            position += 1
    return segments


def parse_key(text: str) -> KeyPredicate:
    """A key predicate's contents: a bare GUID, or comma-separated `name=literal` pairs."""
    text = unquote(text).strip()
    if _GUID.match(text):
        return KeyPredicate(primary=text.lower())
    named: dict[str, Any] = {}
    for part in _split_pairs(text):
        name, equals, literal = part.partition("=")
        if not equals or not name.strip():
            raise bad_request(f"Bad Request - Error in query syntax: the key '({text})' is not valid.")
        named[name.strip()] = parse_literal(literal.strip())
    if not named:
        raise bad_request("Bad Request - Error in query syntax: an empty key predicate '()'.")
    return KeyPredicate(named=named)


def _split_pairs(text: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == "'":
            quoted = not quoted  # a doubled quote flips twice and stays inside the literal
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_literal(literal: str) -> Any:
    """An OData key literal: 'text' (quotes doubled inside), GUID, number, true/false or null."""
    if len(literal) >= 2 and literal[0] == "'" and literal[-1] == "'":
        return literal[1:-1].replace("''", "'")
    if _GUID.match(literal):
        return literal.lower()
    if literal in ("true", "false"):
        return literal == "true"
    if literal == "null":
        return None
    if _NUMBER.match(literal):
        return float(literal) if "." in literal else int(literal)
    raise bad_request(f"Bad Request - Error in query syntax: '{literal}' is not a valid key value.")


def locate(
    work: UnitOfWork, schema: EntitySchema, key: KeyPredicate, *, must_exist: bool = True
) -> Row | None:
    """The row a key predicate names (404 when missing and `must_exist`)."""
    if key.primary is not None:
        row = work.get(schema, key.primary)
        if row is None and must_exist:
            raise record_not_found(schema.logical_name, key.primary)
        return row
    values = key_values(schema, key)
    if set(values) == {schema.key}:
        row = work.get(schema, _guid(values[schema.key], schema))
        if row is None and must_exist:
            raise record_not_found(schema.logical_name, values[schema.key])
        return row
    found = work.find(schema, values)
    if not found:
        if must_exist:
            shown = ",".join(f"{name}={value}" for name, value in values.items())
            raise record_not_found(schema.logical_name, shown)
        return None
    return found[0]


def key_values(schema: EntitySchema, key: KeyPredicate) -> dict[str, Any]:
    """The attribute values of a named key, checked against the primary and declared alternate keys."""
    values: dict[str, Any] = {}
    for name, value in key.named.items():
        attribute = schema.attribute(name)
        if attribute is None:
            raise invalid_key(schema.logical_name)
        values[attribute.name] = value
    if set(values) == {schema.key}:
        # systemuser and team inherit their key from `principal`: only the bare GUID form works.
        if schema.logical_name in ("systemuser", "team"):
            raise invalid_key(schema.logical_name)
        return values
    declared = [set(names) for names in schema.alternate_keys.values()]
    if set(values) not in declared:
        raise invalid_key(schema.logical_name)
    return values


def _guid(value: Any, schema: EntitySchema) -> str:
    try:
        return parse_guid(str(value))
    except ValueError:
        raise invalid_key(schema.logical_name) from None


def relative_reference(url: str) -> str:
    """`https://host/api/data/v9.2/accounts(1)`, `/accounts(1)` or `accounts(1)` → `accounts(1)`."""
    text = url.strip()
    marker = text.find(API_PREFIX + "/")
    if marker >= 0:
        text = text[marker + len(API_PREFIX) + 1 :]
    return text.lstrip("/")
