"""The pending-writes journal behind "never a duplicate".

Before a create request leaves, the engine records it here (with the id it chose, where the service
accepts client-chosen ids as Dataverse does, or a marker to look the record up by, such as the BC
No.). Once the record is coupled the entry is confirmed; a retried task finds the entries still
pending, asks the service whether each create committed, and confirms or abandons it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, String, select, text, type_coerce, update

from bcsync.store.bulk import bulk_insert
from bcsync.store.database import one_of
from bcsync.store.frames import (
    StoreInputError,
    batches,
    driver_rows,
    frame_of,
    guids,
    require_columns,
    to_frame,
)
from bcsync.store.schema import OPEN_PENDING_WRITE, Direction, PendingState, pending_writes

COLUMNS = [column.name for column in pending_writes.columns]
_TIMESTAMPS = ["created_on", "updated_on"]
_OPEN = pending_writes.c.state == PendingState.PENDING.value
# Columns `record_pending` returns as it wrote them when it opened every entry (not the id the
# database assigns, nor timestamps, which a read returns parsed).
_AS_WRITTEN = frozenset(COLUMNS) - {"id", *_TIMESTAMPS}


def record_pending(
    conn: Connection,
    mapping: str,
    direction: Direction,
    rows: pd.DataFrame,
    *,
    job_id: str | None,
    now: datetime,
    columns: Sequence[str] = COLUMNS,
) -> pd.DataFrame:
    """Journal creates about to be sent; returns the open entries for these source ids (`columns` of
    them: a caller that only sends needs `source_id` and `destination_id`).

    `rows` has `source_id` and optionally `destination_id` (a GUID) and `marker`. A source record
    that already has an open entry keeps it: the returned `destination_id` is the one to send, so a
    retry re-sends the same client-chosen id and the service refuses a second record.
    """
    frame = frame_of(rows)
    require_columns(frame, ["source_id"], "record_pending")
    out = pd.DataFrame({"source_id": guids(frame["source_id"].to_numpy(), "source_id")})
    if out["source_id"].duplicated().any():
        raise StoreInputError(
            f"record_pending: source_id {out['source_id'][out['source_id'].duplicated()].iloc[0]} twice"
        )
    ids = frame["destination_id"].to_numpy() if "destination_id" in frame.columns else [None] * len(frame)
    out["destination_id"] = guids(ids, "destination_id", optional=True)
    out["marker"] = frame["marker"].astype(object).to_numpy() if "marker" in frame.columns else None
    out = out.assign(
        mapping=mapping,
        direction=direction.value,
        state=PendingState.PENDING.value,
        job_id=job_id,
        created_on=now,
        updated_on=now,
    )

    def keep_the_open_entry(statement: Any) -> Any:
        return statement.on_conflict_do_nothing(
            index_elements=[pending_writes.c.mapping, pending_writes.c.direction, pending_writes.c.source_id],
            index_where=text(OPEN_PENDING_WRITE),  # literal SQL: it must match the index's predicate
        )

    inserted = bulk_insert(conn, pending_writes, out, keep_the_open_entry)
    if inserted == len(out) and set(columns) <= _AS_WRITTEN:
        # No open entry was there already (the usual first try): the journal holds what we wrote.
        return out[list(columns)].reset_index(drop=True)
    return select_pending(conn, mapping, direction, out["source_id"].tolist(), columns=columns)


def select_pending(
    conn: Connection,
    mapping: str,
    direction: Direction,
    source_ids: Sequence[str] | None = None,
    *,
    columns: Sequence[str] = COLUMNS,
) -> pd.DataFrame:
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        raise StoreInputError(f"pending writes have no column(s) {unknown}")
    # Rows and timestamps as the driver returns them, parsed by `to_frame` column by column (see
    # couplings; the journal has no boolean column).
    timestamps = [name for name in _TIMESTAMPS if name in columns]
    selected = (
        type_coerce(pending_writes.c[name], String).label(name)
        if name in timestamps
        else pending_writes.c[name]
        for name in columns
    )
    base = select(*selected).where(
        pending_writes.c.mapping == mapping, pending_writes.c.direction == direction.value, _OPEN
    )
    if source_ids is None:
        rows = driver_rows(conn, base.order_by(pending_writes.c.id))
    else:
        rows = []
        for batch in batches(list(source_ids)):
            rows.extend(driver_rows(conn, base.where(one_of(conn, pending_writes.c.source_id, batch))))
    return to_frame(rows, columns, timestamps)


def confirm_pending(
    conn: Connection, mapping: str, direction: Direction, source_ids: Sequence[str], *, now: datetime
) -> int:
    """Close open entries whose record now exists and is coupled (write the coupling first)."""
    return _close(conn, mapping, direction, source_ids, PendingState.CONFIRMED, now)


def abandon_pending(
    conn: Connection, mapping: str, direction: Direction, source_ids: Sequence[str], *, now: datetime
) -> int:
    """Close open entries whose create is known not to have happened; the next run may create afresh."""
    return _close(conn, mapping, direction, source_ids, PendingState.ABANDONED, now)


def _close(
    conn: Connection,
    mapping: str,
    direction: Direction,
    source_ids: Sequence[str],
    state: PendingState,
    now: datetime,
) -> int:
    statement = (
        update(pending_writes)
        .where(pending_writes.c.mapping == mapping, pending_writes.c.direction == direction.value, _OPEN)
        .values(state=state.value, updated_on=now)
    )
    return sum(
        conn.execute(statement.where(one_of(conn, pending_writes.c.source_id, batch))).rowcount
        for batch in batches(list(source_ids))
    )
