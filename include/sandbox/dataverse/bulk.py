"""The bulk messages `CreateMultiple`, `UpdateMultiple` and `UpsertMultiple` (bound to an entity set).

Standard-table semantics: every target carries `@odata.type`, all targets are one table, and the whole
request is one transaction (any error rolls all of it back). Tables with `bulk_messages=False` refuse
them, as tables outside Dataverse's bulk-message set do.
"""

from __future__ import annotations

from typing import Any

from sandbox.dataverse.errors import NOT_SUPPORTED, DataverseError, bad_request, record_not_found
from sandbox.dataverse.resources import KeyPredicate, key_values, locate
from sandbox.dataverse.writes import RecordWriter
from sandbox.storage.repository import Row
from sandbox.storage.schema import EntitySchema
from sandbox.storage.values import parse_guid

MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
_CHUNK = 500


def unsupported(message: str, schema: EntitySchema) -> DataverseError:
    return DataverseError(
        400,
        NOT_SUPPORTED,
        f"The '{message}' method does not support entities of type '{schema.logical_name}'. "
        f"MessageProcessorCache returned MessageProcessor.Empty.",
    )


def targets_of(schema: EntitySchema, body: Any) -> list[dict[str, Any]]:
    """The `Targets` array, each entry checked for the `@odata.type` of this table."""
    if not isinstance(body, dict) or not isinstance(body.get("Targets"), list):
        raise bad_request("The request body must be a JSON object with a 'Targets' array of entities.")
    targets = body["Targets"]
    if not targets:
        raise bad_request("'Targets' must contain at least one entity.")
    expected = f"Microsoft.Dynamics.CRM.{schema.logical_name}"
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            raise bad_request(f"Targets[{index}] must be a JSON object.")
        given = str(target.get("@odata.type") or "").lstrip("#")
        if not given:
            raise bad_request(
                f"Targets[{index}]: the '@odata.type' annotation is required on every target "
                f"(expected '{expected}')."
            )
        if given != expected:
            raise bad_request(
                f"Targets[{index}]: all targets must be of type '{expected}', found '{given}'. "
                f"Bulk messages take records of a single table."
            )
    return targets


def create_multiple(writer: RecordWriter, schema: EntitySchema, body: Any) -> list[str]:
    """CreateMultiple: the ids of the new rows, in request order."""
    rows = [writer.values_from_body(schema, target) for target in targets_of(schema, body)]
    return [row[schema.key] for row in writer.create_many(schema, rows)]


def update_multiple(writer: RecordWriter, schema: EntitySchema, body: Any) -> None:
    """UpdateMultiple: each target names its row by primary key; repeats of a key are ignored."""
    seen: set[str] = set()
    for index, target in enumerate(targets_of(schema, body)):
        key = _primary_key(schema, target, index)
        if key is None:
            raise bad_request(
                f"Targets[{index}]: UpdateMultiple needs the primary key '{schema.key}' on every target "
                f"(alternate keys are not supported by the Web API UpdateMultiple)."
            )
        if key in seen:
            continue  # Dataverse applies the first of duplicate targets and ignores the rest
        seen.add(key)
        values = writer.values_from_body(schema, target)
        current = writer.work.get(schema, key)
        if current is None:
            raise record_not_found(schema.logical_name, key)
        writer.update(schema, current, values)


def upsert_multiple(writer: RecordWriter, schema: EntitySchema, body: Any) -> None:
    """UpsertMultiple: targets named by `@odata.id` (key URL) or primary key; duplicates are an error."""
    identified: list[tuple[KeyPredicate, dict[str, Any]]] = []
    seen: set[tuple[Any, ...]] = set()
    for index, target in enumerate(targets_of(schema, body)):
        key = _target_key(writer, schema, target, index)
        identity = (key.primary,) if key.primary else tuple(sorted(key.named.items()))
        if identity in seen:
            raise bad_request(
                f"Targets[{index}]: the key {_shown(key)} appears more than once in the request; "
                f"UpsertMultiple does not accept duplicate keys."
            )
        seen.add(identity)
        identified.append((key, writer.values_from_body(schema, target)))
    existing = _existing_by_primary_key(writer, schema, [key.primary for key, _ in identified if key.primary])
    creates: list[dict[str, Any]] = []
    for key, values in identified:
        current = (
            existing.get(key.primary) if key.primary else locate(writer.work, schema, key, must_exist=False)
        )
        if current is None:
            key_values = {schema.key: key.primary} if key.primary else dict(key.named)
            creates.append({**key_values, **values})
        else:
            for name in key.named:
                values.pop(name, None)
            writer.update(schema, current, values)
    if creates:
        writer.create_many(schema, creates)


def _existing_by_primary_key(writer: RecordWriter, schema: EntitySchema, keys: list[str]) -> dict[str, Row]:
    column = writer.table_of(schema).c[schema.key]
    found: dict[str, Row] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = writer.work.query(schema, where=column.in_(keys[start : start + _CHUNK]))
        found.update((row[schema.key], row) for row in rows)
    return found


def _primary_key(schema: EntitySchema, target: dict[str, Any], index: int) -> str | None:
    value = target.get(schema.key)
    if value is None:
        return None
    try:
        return parse_guid(str(value))
    except ValueError:
        raise bad_request(f"Targets[{index}]: '{schema.key}' must be a GUID, got {value!r}.") from None


def _target_key(
    writer: RecordWriter, schema: EntitySchema, target: dict[str, Any], index: int
) -> KeyPredicate:
    reference = target.get("@odata.id")
    if reference is not None:
        table, key = writer.reference(str(reference))
        if table.logical_name != schema.logical_name:
            raise bad_request(
                f"Targets[{index}]: '@odata.id' names '{table.set_name}', not '{schema.set_name}'."
            )
        if key.named:
            named = key_values(schema, key)
            if set(named) == {schema.key}:
                return KeyPredicate(primary=parse_guid(str(named[schema.key])))
            return KeyPredicate(named=named)
        return key
    primary = _primary_key(schema, target, index)
    if primary is None:
        raise bad_request(
            f"Targets[{index}]: UpsertMultiple needs '@odata.id' (an alternate-key URL such as "
            f"{schema.set_name}(<key>='<value>')) or the primary key '{schema.key}'."
        )
    return KeyPredicate(primary=primary)


def _shown(key: KeyPredicate) -> str:
    if key.primary:
        return key.primary
    return ",".join(f"{name}={value!r}" for name, value in key.named.items())
