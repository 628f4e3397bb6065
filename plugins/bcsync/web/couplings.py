"""The Couplings page's reading: a job's couplings from the store, with each record's number and name
read from both services, and a search by BC number or name, Sales name, or either side's id.

BC shows couplings as the "Coupled to Dataverse" field of each record, and finds records by their number
or name; the store keeps only the two ids, so the names come from the services (one request per side
for the rows shown). A search also finds records that are not coupled, so they can be coupled or
created on the other side from the page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

import pandas as pd

from bcsync.engine.model import Side
from bcsync.operations import plain_value as _plain
from bcsync.pipeline.reading import read_by_ids, table_filter
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import side_columns
from bcsync.pipeline.transform import LABEL_FIELDS
from bcsync.registry import IntegrationTableMapping
from bcsync.store import CouplingStore
from bcsync.wire import odata
from bcsync.wire.odata import Filter

log = logging.getLogger(__name__)

MAX_ROWS = 50
NUMBER_FIELDS = ("number", "code")  # BC's "No." / "Code": matched exactly; names by their start
RESULT_COLUMNS = (
    "bc_id",
    "crm_id",
    "bc_synced_on",
    "crm_synced_on",
    "to_crm_result",
    "from_crm_result",
    "skipped",
    "updated_on",
)


def coupling_records(
    store: CouplingStore, services: Services, mapping: IntegrationTableMapping, query: str | None
) -> tuple[list[dict[str, Any]], str]:
    """The rows to show (coupled ones first, newest change first) and a warning ("" when none): the
    services may be unreachable, then the ids are shown without names."""
    found: dict[Side, pd.DataFrame] = {}
    warning = ""
    if query and not _is_guid(query):
        try:
            found = {side: _search(services, mapping, side, query) for side in Side}
        except Exception as error:  # any failure of a service: say so, show what the store has
            log.warning("bcsync couplings: searching %s for %r failed: %s", mapping.name, query, error)
            return [], f"Searching the services failed: {error}"
    couplings = _couplings(store, mapping, query, found)
    shown = couplings.head(MAX_ROWS)
    labels: dict[Side, dict[str, tuple[str | None, str | None]]] = {}
    try:
        labels = {
            side: _labels_of(
                services,
                mapping,
                side,
                [*shown[f"{side.value}_id"], *_ids(found.get(side), mapping, side)],
                found.get(side),
            )
            for side in Side
        }
    except Exception as error:
        log.warning("bcsync couplings: reading names of %s failed: %s", mapping.name, error)
        warning = f"Record numbers and names could not be read from the services: {error}"
    records = [_coupled(row, labels) for row in shown.to_dict("records")]
    records += _uncoupled(mapping, found, couplings, labels)
    if len(couplings) > MAX_ROWS:
        warning = " ".join(
            filter(None, [warning, f"Showing {MAX_ROWS} of {len(couplings)} couplings: search to narrow."])
        )
    return records, warning


def _couplings(
    store: CouplingStore, mapping: IntegrationTableMapping, query: str | None, found: dict[Side, pd.DataFrame]
) -> pd.DataFrame:
    if not query:
        frame = store.couplings(mapping.name)
    elif _is_guid(query):
        key = str(uuid.UUID(query.strip("{}")))
        frame = store.couplings_for(mapping.name, bc_ids=[key], crm_ids=[key])
    else:
        frame = store.couplings_for(
            mapping.name,
            bc_ids=_ids(found.get(Side.BC), mapping, Side.BC),
            crm_ids=_ids(found.get(Side.CRM), mapping, Side.CRM),
        )
    if frame.empty:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return frame.sort_values(["updated_on", "bc_id"], ascending=[False, True], kind="stable")


def _search(services: Services, mapping: IntegrationTableMapping, side: Side, text: str) -> pd.DataFrame:
    """Records of one side whose number/code is `text` or whose name starts with it (BC: case as typed;
    Dataverse compares without case)."""
    fields = _label_fields(mapping, side)
    if not fields:
        return pd.DataFrame()
    conditions = [
        odata.eq(f, text)
        if f in NUMBER_FIELDS
        else Filter(f"startswith({odata.property_name(f)},{odata.literal(text)})")
        for f in fields
    ]
    where = conditions[0]
    for condition in conditions[1:]:
        where = where | condition
    where = odata.all_of(table_filter(mapping, side), where)
    key = mapping.bc_key if side is Side.BC else mapping.crm_key
    select = [key, *fields]
    if side is Side.BC:  # the primary endpoint has the number and name (an extension page may not)
        endpoint = mapping.bc_endpoint
        pages = services.bc.iter_pages(
            endpoint.entity_set, select=select, filter=where, api=endpoint.api.value
        )
    else:
        pages = services.crm.iter_pages(mapping.crm_entity_set, select=select, filter=where)
    frames = []
    for page in pages:
        frames.append(pd.DataFrame(page))
        if sum(len(f) for f in frames) >= MAX_ROWS:
            break
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return found.head(MAX_ROWS)


def _labels_of(
    services: Services,
    mapping: IntegrationTableMapping,
    side: Side,
    ids: Iterable[str],
    known: pd.DataFrame | None,
) -> dict[str, tuple[str | None, str | None]]:
    """id → (number, name) of the records with these ids, reading only the ones a search did not bring."""
    key = mapping.bc_key if side is Side.BC else mapping.crm_key
    frames = [known] if known is not None and len(known) else []
    have = set(known[key].str.lower()) if frames else set()
    missing = sorted({i for i in ids if i and i.lower() not in have})
    if missing:
        frames += [
            page for page in read_by_ids(services, mapping, side, missing, apply_filter=False) if len(page)
        ]
    labels: dict[str, tuple[str | None, str | None]] = {}
    fields = _label_fields(mapping, side)
    numbers = [f for f in fields if f in NUMBER_FIELDS]
    names = [f for f in fields if f not in NUMBER_FIELDS]
    for frame in frames:
        for row in frame.to_dict("records"):
            number = next((_text(row.get(f)) for f in numbers if _text(row.get(f))), None)
            name = next((_text(row.get(f)) for f in names if _text(row.get(f))), None)
            labels[str(row[key]).lower()] = (number, name)
    return labels


def _coupled(
    row: dict[str, Any], labels: dict[Side, dict[str, tuple[str | None, str | None]]]
) -> dict[str, Any]:
    bc_number, bc_name = labels.get(Side.BC, {}).get(row["bc_id"], (None, None))
    crm_number, crm_name = labels.get(Side.CRM, {}).get(row["crm_id"], (None, None))
    return {
        "coupled": True,
        "bc_id": row["bc_id"],
        "bc_number": bc_number,
        "bc_name": bc_name,
        "crm_id": row["crm_id"],
        "crm_name": crm_name or crm_number,
        "last_synced_on": _latest(row.get("bc_synced_on"), row.get("crm_synced_on")),
        "to_crm_result": _plain(row.get("to_crm_result")),
        "from_crm_result": _plain(row.get("from_crm_result")),
        "skipped": bool(_plain(row.get("skipped"))),
        "updated_on": _plain(row.get("updated_on")),
    }


def _uncoupled(
    mapping: IntegrationTableMapping,
    found: dict[Side, pd.DataFrame],
    couplings: pd.DataFrame,
    labels: dict[Side, dict[str, tuple[str | None, str | None]]],
) -> list[dict[str, Any]]:
    """Records a search found that no coupling of this job holds."""
    records = []
    for side in Side:
        coupled = set(couplings[f"{side.value}_id"]) if len(couplings) else set()
        for record_id in _ids(found.get(side), mapping, side):
            if record_id in coupled:
                continue
            number, name = labels.get(side, {}).get(record_id, (None, None))
            records.append(
                {
                    "coupled": False,
                    "bc_id": record_id if side is Side.BC else None,
                    "bc_number": number if side is Side.BC else None,
                    "bc_name": name if side is Side.BC else None,
                    "crm_id": record_id if side is Side.CRM else None,
                    "crm_name": (name or number) if side is Side.CRM else None,
                    "last_synced_on": None,
                    "to_crm_result": None,
                    "from_crm_result": None,
                    "skipped": False,
                    "updated_on": None,
                }
            )
    return records


def _label_fields(mapping: IntegrationTableMapping, side: Side) -> list[str]:
    columns = side_columns(mapping, side)
    if side is Side.BC:  # the primary endpoint's: searching and reading names need no extension page
        readable = set(columns.fields_by_endpoint.get(mapping.bc_endpoint.api.value, ()))
    else:
        readable = set(columns.select())
    return [f for f in LABEL_FIELDS[side] if f in readable]


def _ids(frame: pd.DataFrame | None, mapping: IntegrationTableMapping, side: Side) -> list[str]:
    key = mapping.bc_key if side is Side.BC else mapping.crm_key
    if frame is None or frame.empty or key not in frame.columns:
        return []
    return [str(v).lower() for v in frame[key]]


def _latest(*values: Any) -> Any:
    present = [_plain(v) for v in values if _plain(v) is not None]
    return max(present) if present else None


def _text(value: Any) -> str | None:
    plain = _plain(value)
    return None if plain in (None, "") else str(plain)


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text.strip().strip("{}"))
    except ValueError:
        return False
    return True
