"""Edits "as a user makes them in BC or Sales": `python -m sandbox edit|delete` (`bin/sandbox …`).

The local services' APIs are as read-only as the real ones where BC is (exchange rates, for one), so a
walkthrough step such as "give CHF an exchange rate in BC" needs a way in that is not the API. This
module writes through the services' own storage (`Repository`), as their UI would: the row version
and the modified-on timestamp move, so change tracking and bcsync's watermarks see the edit.

A record is named by its id (a GUID), by `attribute:value`, or by the value of the table's usual
"number or name" attributes (BC: number, code, displayName; Dataverse: the alternate keys' attributes,
the primary name, accountnumber); a name that fits several records is refused with their ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.settings import SandboxSettings
from sandbox.storage.errors import NotFound, StorageError
from sandbox.storage.repository import Repository, Row
from sandbox.storage.schema import Attribute, AttributeType, EntitySchema

NEW = "new"  # the key that creates a record instead of changing one
_BC_NAMES = ("number", "code", "displayName")
_TEXT_TYPES = {
    AttributeType.STRING,
    AttributeType.MEMO,
    AttributeType.ENUM,
    AttributeType.GUID,
    AttributeType.LOOKUP,
    AttributeType.DATE,
    AttributeType.DATETIME,
}
SERVICES = {
    "bc": "bc",
    "businesscentral": "bc",
    "dataverse": "dataverse",
    "sales": "dataverse",
    "crm": "dataverse",
}


class EditError(Exception):
    """Input the user can fix: an unknown service, table, record or field, or a value of the wrong type."""


@dataclass(frozen=True)
class Target:
    """Where an edit lands: the table and, for BC, the company it is scoped to."""

    schema: EntitySchema
    company: str | None


def find_schema(schemas: Iterable[EntitySchema], service: str, table: str) -> EntitySchema:
    """A table by its logical name or entity-set name (`customer`/`customers`, `account`/`accounts`)."""
    wanted_service = SERVICES.get(service.casefold())
    if wanted_service is None:
        raise EditError(f"unknown service {service!r}: use bc or dataverse")
    candidates = [s for s in schemas if s.service == wanted_service]
    for schema in candidates:
        if table.casefold() in (schema.logical_name.casefold(), schema.set_name.casefold()):
            return schema
    known = ", ".join(sorted(s.logical_name for s in candidates))
    raise EditError(f"{wanted_service} has no table {table!r}; tables: {known}")


def parse_assignments(schema: EntitySchema, assignments: Sequence[str]) -> dict[str, Any]:
    """`field=value` pairs as the service's wire values: text stays text, numbers and true/false are
    read as JSON, `null` clears a field."""
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or not name:
            raise EditError(f"expected field=value, got {assignment!r}")
        attribute = _attribute(schema, name)
        values[attribute.name] = _wire_value(attribute, text)
    return values


def find_record(repository: Repository, target: Target, key: str) -> Row:
    """The one record `key` names (see the module's docstring)."""
    schema = target.schema
    if _is_guid(key):
        row = repository.get(schema, key, company=target.company)
        if row is None:
            raise EditError(f"no {schema.logical_name} with id {key}")
        return row
    name, sep, value = key.partition(":")
    if sep and schema.attribute(name) is not None:
        fields: tuple[str, ...] = (name,)
    else:
        fields, value = _name_fields(schema), key
    found: dict[Any, Row] = {}
    for field_name in fields:
        attribute = _attribute(schema, field_name)
        with_value = {field_name: _wire_value(attribute, value)}
        for row in repository.find(schema, with_value, company=target.company):
            found.setdefault(row[schema.key], row)
    if not found:
        raise EditError(f"no {schema.logical_name} with {' or '.join(fields)} {value!r}")
    if len(found) > 1:
        ids = ", ".join(str(k) for k in found)
        raise EditError(f"{value!r} names {len(found)} {schema.set_name} ({ids}): give the id instead")
    return next(iter(found.values()))


def edit(repository: Repository, target: Target, key: str, assignments: Sequence[str]) -> Row:
    """Change (or, with key `new`, create) one record; returns it as stored."""
    values = parse_assignments(target.schema, assignments)
    if not values:
        raise EditError("nothing to change: give field=value pairs")
    try:
        if key == NEW:
            return repository.insert(target.schema, values, company=target.company, as_system=True)
        record = find_record(repository, target, key)
        return repository.update(
            target.schema, record[target.schema.key], values, company=target.company, as_system=True
        )
    except StorageError as error:
        raise EditError(str(error)) from None


def delete(repository: Repository, target: Target, key: str) -> Row:
    """Delete one record (it leaves a tombstone, as a delete through the API does); returns it."""
    record = find_record(repository, target, key)
    try:
        repository.delete(target.schema, record[target.schema.key], company=target.company)
    except NotFound as error:
        raise EditError(str(error)) from None
    return record


def target_for(settings: SandboxSettings, schema: EntitySchema) -> Target:
    return Target(schema, settings.company_id if schema.company_scoped else None)


def printable(schema: EntitySchema, row: Row) -> str:
    """The stored record as JSON, for the command's output."""
    shown = {
        name: value for name, value in row.items() if not name.startswith("_") or name.endswith("_value")
    }
    return json.dumps({"table": schema.logical_name, **shown}, default=str, ensure_ascii=False, indent=2)


def _attribute(schema: EntitySchema, name: str) -> Attribute:
    attribute = schema.attribute(name)
    if attribute is None:
        known = ", ".join(a.name for a in schema.attributes)
        raise EditError(f"{schema.logical_name} has no field {name!r}; fields: {known}")
    return attribute


def _wire_value(attribute: Attribute, text: str) -> Any:
    if text == "null":
        return None
    if attribute.type in _TEXT_TYPES:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise EditError(f"{attribute.name}: {text!r} is not a {attribute.type.value}") from None


def _name_fields(schema: EntitySchema) -> tuple[str, ...]:
    if schema.service == "bc":
        names: list[str] = [n for n in _BC_NAMES if schema.attribute(n) is not None]
    else:
        names = [a for attributes in schema.alternate_keys.values() for a in attributes]
        names += [n for n in (schema.primary_name, "accountnumber") if n and schema.attribute(n) is not None]
    if not names:
        raise EditError(f"{schema.logical_name} records have no number or name: give the id or field:value")
    return tuple(dict.fromkeys(names))


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text.strip("{}"))
    except ValueError:
        return False
    return True
