"""What a bulk write did, record by record, and the destination's modified-on right after it."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from bcsync.engine.model import DESTINATION_ID, DESTINATION_MODIFIED, SOURCE_ID, Side
from bcsync.pipeline.frames import as_destination
from bcsync.pipeline.reading import modified_window, read_by_ids, read_pages
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import SideColumns, side_columns
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire.writes import WriteResult

READ_BACK_BY_ID = 500  # above this, read back by modified-on window rather than by id chunks
CLOCK_MARGIN = timedelta(minutes=5)  # our clock against the service's, when it sent no Date header
# The service's machines against each other (the Date header's against the modified-on's), and the
# modified-on's precision: the Date header is whole seconds, rounded down, so it is covered already.
SERVICE_CLOCK_MARGIN = timedelta(seconds=2)
_NO_FILTERS = {"table_filter": None, "integration_table_filter": None, "company_filter": False}


def new_guids(count: int) -> list[str]:
    """`count` random (version 4) GUIDs in canonical form, as `str(uuid.uuid4())` makes them, but
    drawn in one go: ids for thousands of creates cost a quarter of uuid4's time."""
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = raw[:, 6] & 0x0F | 0x40  # version 4
    raw[:, 8] = raw[:, 8] & 0x3F | 0x80  # the RFC 4122 variant
    text = raw.tobytes().hex()
    return [
        f"{text[i : i + 8]}-{text[i + 8 : i + 12]}-{text[i + 12 : i + 16]}-{text[i + 16 : i + 20]}-"
        f"{text[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def results_of(
    rows: pd.DataFrame, outcomes: list[WriteResult], ids: list[str | None]
) -> list[dict[str, Any]]:
    return results_frame(rows, outcomes, ids).to_dict("records")


def results_frame(rows: pd.DataFrame, outcomes: list[WriteResult], ids: list[str | None]) -> pd.DataFrame:
    """What a bulk write did, one row per written row: source id, destination id, ok and error. Built
    a column at a time (the payloads are not looked at)."""
    if len(outcomes) != len(rows) or len(ids) != len(rows):
        raise ValueError(f"{len(outcomes)} outcomes and {len(ids)} ids for {len(rows)} rows")
    destination_ids = [(o.id or i or "").lower() or None for o, i in zip(outcomes, ids, strict=True)]
    return pd.DataFrame(
        {
            SOURCE_ID: rows[SOURCE_ID].to_numpy(dtype=object),
            # Objects: a missing id or error stays None (text columns would make it NaN).
            DESTINATION_ID: pd.Series(destination_ids, dtype=object),
            "ok": np.fromiter((o.error is None for o in outcomes), dtype=bool, count=len(outcomes)),
            "error": pd.Series([None if o.error is None else str(o.error) for o in outcomes], dtype=object),
        }
    )


def with_new_modified_on(
    written: pd.DataFrame, mapping: IntegrationTableMapping, side: Side, services: Services, since: datetime
) -> pd.DataFrame:
    """Read back the destination's modified-on after our write: the coupling stores it, so our own
    write is not mistaken for a change on that side next time.

    Few records are read by id; many by "modified since the writes began" (a page holds thousands),
    then by id those of them the window missed.
    """
    if written.empty:
        return written
    ok_ids = written.loc[written["ok"], DESTINATION_ID].dropna()
    if len(ok_ids) <= READ_BACK_BY_ID:
        ids = ok_ids.tolist()
        frames = list(read_by_ids(services, mapping, side, ids, apply_filter=False)) if ids else []
    else:
        frames = _read_window(mapping, side, services, since)
        missed = ok_ids[~ok_ids.str.lower().isin(_ids_of(frames, mapping, side))].tolist()
        if missed:
            # Clocks misjudged (a skewed machine of the service): never leave a write unread.
            frames += read_by_ids(services, mapping, side, missed, apply_filter=False)
    frames = [frame for frame in frames if len(frame)]
    current = (
        as_destination(pd.concat(frames, ignore_index=True), mapping, side) if frames else pd.DataFrame()
    )
    # A record read twice (changed again while the window was paged) keeps its last value: `map`
    # needs unique keys.
    current = current.drop_duplicates(DESTINATION_ID, keep="last") if len(current) else current
    modified = (
        pd.Series(current[DESTINATION_MODIFIED].array, index=current[DESTINATION_ID].array)
        if len(current)
        else {}
    )
    written["new_destination_modified"] = written[DESTINATION_ID].map(modified)
    return written


def window_start(side: Side, services: Services, since: datetime) -> datetime:
    """When our writes began, on the service's clock (the modified-on values are the service's).

    Anchored on the service's `Date` headers, a partition's window holds its own writes, not those of
    the partitions loaded before it; without a `Date` seen, minutes of margin cover the clocks' skew.
    """
    hook = services.crm if side is Side.CRM else services.bc
    on_service = hook.service_time(since)
    return since - CLOCK_MARGIN if on_service is None else on_service - SERVICE_CLOCK_MARGIN


def _read_window(
    mapping: IntegrationTableMapping, side: Side, services: Services, since: datetime
) -> list[pd.DataFrame]:
    # Only the key and the modified-on are read: the window may hold every record of a large load.
    window = modified_window(mapping, side, not_before=window_start(side, services, since))
    unfiltered = mapping.model_copy(update=_NO_FILTERS)
    columns = _key_and_modified(mapping, side)
    return list(read_pages(services, unfiltered, side, window, columns=columns))


def _ids_of(frames: list[pd.DataFrame], mapping: IntegrationTableMapping, side: Side) -> pd.Series:
    """The record ids the frames hold (lower case, as the write results give them)."""
    key = side_columns(mapping, side).key
    ids = [frame[key].astype(str).str.lower() for frame in frames if key in frame.columns]
    return pd.concat(ids, ignore_index=True) if ids else pd.Series([], dtype=str)


def _key_and_modified(mapping: IntegrationTableMapping, side: Side) -> SideColumns:
    columns = side_columns(mapping, side)
    return SideColumns(side=side, key=columns.key, modified=columns.modified, fields_by_endpoint={})
