"""Records as admins name them — a BC number or code, a Sales name or number, or an id of either side —
resolved to ids, with a plain message for a name that matches nothing or more than one record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from bcsync.engine.model import Side
from bcsync.pipeline.reading import read_by_ids, read_pages
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import SideColumns, side_columns
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire import odata

# Where a name is looked for, in this order: the first kind of field that finds something decides.
CRM_NUMBER_FIELDS = ("accountnumber", "isocurrencycode", "productnumber", "internalemailaddress")
CRM_NAME_FIELDS = ("name", "fullname", "currencyname")
BC_NAME_FIELDS = ("displayName",)


@dataclass(frozen=True)
class ResolvedRecord:
    """One reference: the record it names (side and id), or why it names none."""

    reference: str
    side: Side | None = None
    record_id: str | None = None
    label: str | None = None  # the BC number / Sales name, for messages
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def as_guid(text: str) -> str | None:
    """The canonical id if `text` is a GUID (any case, braces allowed), else None."""
    try:
        return str(uuid.UUID(text.strip().strip("{}")))
    except ValueError:
        return None


def resolve_records(
    services: Services,
    mapping: IntegrationTableMapping,
    references: Iterable[str],
    *,
    side: Side | None = None,
) -> list[ResolvedRecord]:
    """Each reference resolved on `side`, or on either side (BC first) when None."""
    sides = (side,) if side else (Side.BC, Side.CRM)
    references = list(dict.fromkeys(str(r).strip() for r in references if str(r).strip()))
    by_id = _ids_found(services, mapping, sides, [g for r in references if (g := as_guid(r))])
    return [
        by_id.get(as_guid(ref) or "", _not_found(mapping, ref, sides))
        if as_guid(ref)
        else _by_name(services, mapping, ref, sides)
        for ref in references
    ]


def _ids_found(
    services: Services, mapping: IntegrationTableMapping, sides: Sequence[Side], ids: list[str]
) -> dict[str, ResolvedRecord]:
    found: dict[str, ResolvedRecord] = {}
    for side in sides:
        wanted = [i for i in ids if i not in found]
        if not wanted:
            break
        key = mapping.bc_key if side is Side.BC else mapping.crm_key
        for frame in read_by_ids(services, mapping, side, wanted, apply_filter=False):
            for row in frame.to_dict("records"):
                record_id = str(row[key]).lower()
                found[record_id] = ResolvedRecord(record_id, side, record_id, _label(row, side))
    return found


def _by_name(
    services: Services, mapping: IntegrationTableMapping, reference: str, sides: Sequence[Side]
) -> ResolvedRecord:
    for side, fields in _name_fields(mapping, sides):
        hits = _records_where(services, mapping, side, fields, reference)
        if len(hits) == 1:
            row = hits[0]
            key = mapping.bc_key if side is Side.BC else mapping.crm_key
            return ResolvedRecord(reference, side, str(row[key]).lower(), _label(row, side))
        if len(hits) > 1:
            return ResolvedRecord(
                reference,
                problem=(
                    f"{reference!r} is ambiguous: {len(hits)} {_table(mapping, side)} records have it "
                    f"({', '.join(fields)}); give the record's id instead."
                ),
            )
    return _not_found(mapping, reference, sides)


def _name_fields(
    mapping: IntegrationTableMapping, sides: Sequence[Side]
) -> list[tuple[Side, tuple[str, ...]]]:
    """(side, fields) in the order names are tried: BC No./Code, Sales number, Sales name, BC name."""
    bc = set(side_columns(mapping, Side.BC).select(mapping.bc_endpoint.api.value))
    crm = set(side_columns(mapping, Side.CRM).select())
    tiers = [
        (Side.BC, tuple(f for f in (mapping.bc_natural_key,) if f in bc)),
        (Side.CRM, tuple(f for f in CRM_NUMBER_FIELDS if f in crm)),
        (Side.CRM, tuple(f for f in CRM_NAME_FIELDS if f in crm)),
        (Side.BC, tuple(f for f in BC_NAME_FIELDS if f in bc)),
    ]
    return [(side, fields) for side, fields in tiers if side in sides and fields]


def _records_where(
    services: Services, mapping: IntegrationTableMapping, side: Side, fields: tuple[str, ...], value: str
) -> list[dict]:
    rows: dict[str, dict] = {}
    key = mapping.bc_key if side is Side.BC else mapping.crm_key
    for field in fields:
        for frame in read_pages(
            services, mapping, side, odata.eq(field, value), columns=_name_columns(mapping, side)
        ):
            for row in frame.to_dict("records"):
                rows[str(row[key]).lower()] = row
    return list(rows.values())


def _name_columns(mapping: IntegrationTableMapping, side: Side) -> SideColumns:
    """The key and the name fields, from the primary endpoint only: a BC extension page has neither the
    number nor the name to filter on."""
    full = side_columns(mapping, side)
    endpoint = mapping.bc_endpoint.api.value if side is Side.BC else ""
    present = set(full.select(endpoint))
    names = (
        (mapping.bc_natural_key, *BC_NAME_FIELDS, "code")
        if side is Side.BC
        else (*CRM_NUMBER_FIELDS, *CRM_NAME_FIELDS)
    )
    return SideColumns(
        side, full.key, None, {endpoint: tuple(f for f in dict.fromkeys(names) if f in present)}
    )


def _not_found(mapping: IntegrationTableMapping, reference: str, sides: Sequence[Side]) -> ResolvedRecord:
    where = " or ".join(_table(mapping, side) for side in sides)
    return ResolvedRecord(reference, problem=f"No {where} record is known as {reference!r}.")


def _table(mapping: IntegrationTableMapping, side: Side) -> str:
    return f"Business Central {mapping.bc_table}" if side is Side.BC else f"Sales {mapping.crm_entity}"


def _label(row: dict, side: Side) -> str | None:
    fields = ("number", "code", "displayName") if side is Side.BC else CRM_NAME_FIELDS
    for field in fields:
        value = row.get(field)
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            return str(value)
    return None
