"""What a bulk write did, record by record, and the destination's modified-on right after it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, DESTINATION_MODIFIED, SOURCE_ID, Side
from bcsync.pipeline.frames import as_destination
from bcsync.pipeline.reading import modified_window, read_by_ids, read_pages
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import SideColumns, side_columns
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire.writes import WriteResult

READ_BACK_BY_ID = 500  # above this, read back by modified-on window rather than by id chunks
CLOCK_MARGIN = timedelta(minutes=5)
_NO_FILTERS = {"table_filter": None, "integration_table_filter": None, "company_filter": False}


def results_of(
    rows: pd.DataFrame, outcomes: list[WriteResult], ids: list[str | None]
) -> list[dict[str, Any]]:
    out = []
    # Only the source id is needed: itertuples would iterate every column, payloads included.
    for source_id, outcome, record_id in zip(rows[SOURCE_ID].tolist(), outcomes, ids, strict=True):
        out.append(
            {
                SOURCE_ID: source_id,
                DESTINATION_ID: (outcome.id or record_id or "").lower() or None,
                "ok": outcome.ok,
                "error": None if outcome.ok else str(outcome.error),
            }
        )
    return out


def with_new_modified_on(
    written: pd.DataFrame, mapping: IntegrationTableMapping, side: Side, services: Services, since: datetime
) -> pd.DataFrame:
    """Read back the destination's modified-on after our write: the coupling stores it, so our own
    write is not mistaken for a change on that side next time.

    Few records are read by id; many by "modified since the writes began" (a page holds thousands).
    """
    if written.empty:
        return written
    ok_ids = written.loc[written["ok"], DESTINATION_ID].dropna().tolist()
    if len(ok_ids) <= READ_BACK_BY_ID:
        frames = list(read_by_ids(services, mapping, side, ok_ids, apply_filter=False)) if ok_ids else []
    else:
        # Minutes of margin absorb a clock difference between us and the service. Only the key and
        # the modified-on are read: the window may hold every record of a large load.
        window = modified_window(mapping, side, not_before=since - CLOCK_MARGIN)
        unfiltered = mapping.model_copy(update=_NO_FILTERS)
        columns = _key_and_modified(mapping, side)
        frames = list(read_pages(services, unfiltered, side, window, columns=columns))
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


def _key_and_modified(mapping: IntegrationTableMapping, side: Side) -> SideColumns:
    columns = side_columns(mapping, side)
    return SideColumns(side=side, key=columns.key, modified=columns.modified, fields_by_endpoint={})
