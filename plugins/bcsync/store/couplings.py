"""Couplings (BC's "CRM Integration Record"): reading them in bulk, coupling and uncoupling.

Functions take an open transaction; `CouplingStore` owns the transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Boolean, Connection, String, delete, or_, select, type_coerce
from sqlalchemy.sql import Select

from bcsync.store.bulk import bulk_insert
from bcsync.store.database import lock_mapping, one_of
from bcsync.store.frames import (
    batches,
    driver_rows,
    enum_of,
    frame_of,
    guids,
    require_columns,
    to_frame,
    utc_column,
)
from bcsync.store.schema import CoupledBy, Direction, SyncResult, couplings, direction_prefix

COLUMNS = [column.name for column in couplings.columns]
TIMESTAMPS = ["bc_synced_on", "crm_synced_on", "created_on", "updated_on"]

# Why a requested coupling was not written (the `reason` column of `CouplingOutcome.conflicts`).
BC_ID_ALREADY_COUPLED = "bc_id_already_coupled"
CRM_ID_ALREADY_COUPLED = "crm_id_already_coupled"
DUPLICATE_IN_REQUEST = "duplicate_in_request"
CONFLICT_COLUMNS = ["bc_id", "crm_id", "reason", "coupled_crm_id", "coupled_bc_id"]
_NEW_COUPLING_COLUMNS = [
    "mapping",
    "bc_id",
    "crm_id",
    "bc_synced_on",
    "crm_synced_on",
    "coupled_by",
    "skipped",
    "created_on",
    "updated_on",
]


@dataclass(frozen=True)
class CouplingOutcome:
    """What `couple` did: new couplings written, pairs that were already coupled, and refusals."""

    coupled: int
    already_coupled: int
    replaced: int  # existing couplings removed to make room (only with replace=True)
    conflicts: pd.DataFrame  # CONFLICT_COLUMNS: one row per refused pair


def select_couplings(
    conn: Connection,
    mapping: str,
    bc_ids: Sequence[str] | None = None,
    crm_ids: Sequence[str] | None = None,
    columns: Sequence[str] = COLUMNS,
) -> pd.DataFrame:
    """All couplings of a mapping, or those touching any of the given ids (already canonical)."""
    timestamps = [name for name in TIMESTAMPS if name in columns]
    booleans = [name for name in columns if isinstance(couplings.c[name].type, Boolean)]
    # Rows as the driver returns them, timestamps as text, converted by `to_frame` column by column:
    # SQLAlchemy's Row objects and per-value result processing cost more than the query at thousands
    # of rows.
    selected = (
        type_coerce(couplings.c[name], String).label(name) if name in timestamps else couplings.c[name]
        for name in columns
    )
    base = select(*selected).where(couplings.c.mapping == mapping)
    if bc_ids is None and crm_ids is None:
        return _frame_in_parts(conn, base, columns, timestamps, booleans)
    rows = []
    for column, ids in ((couplings.c.bc_id, bc_ids or []), (couplings.c.crm_id, crm_ids or [])):
        for batch in batches(list(ids)):
            rows.extend(driver_rows(conn, base.where(one_of(conn, column, batch))))
    frame = to_frame(rows, columns, timestamps, booleans)
    return frame.drop_duplicates(subset=["bc_id"], ignore_index=True)


# Rows turned into a frame at a time when reading all of a mapping's couplings: a million couplings
# as driver rows and Python strings are about 1 GB, as frames (Arrow text) a tenth of that.
READ_PART_ROWS = 50_000


def _frame_in_parts(
    conn: Connection,
    statement: Select[Any],
    columns: Sequence[str],
    timestamps: Sequence[str],
    booleans: Sequence[str],
) -> pd.DataFrame:
    """The query's rows as one frame, built `READ_PART_ROWS` driver rows at a time: only one part's
    rows are held as Python objects."""
    result = conn.execute(statement)
    try:
        frames = []
        while part := result.cursor.fetchmany(READ_PART_ROWS):
            frames.append(to_frame(part, columns, timestamps, booleans))
    finally:
        result.close()
    if len(frames) <= 1:
        return frames[0] if frames else to_frame([], columns, timestamps, booleans)
    frame = pd.concat(frames, ignore_index=True)
    # A part whose column was all None made it object: infer as one frame of all the rows would.
    mixed = [name for name in frame.columns if frame[name].dtype == object]
    return frame.assign(**{name: frame[name].infer_objects() for name in mixed}) if mixed else frame


def _coupled_ids(
    conn: Connection, mapping: str, bc_ids: Sequence[str], crm_ids: Sequence[str]
) -> pd.DataFrame:
    return select_couplings(conn, mapping, bc_ids, crm_ids, columns=["bc_id", "crm_id"])


def couple(
    conn: Connection,
    mapping: str,
    rows: pd.DataFrame,
    *,
    coupled_by: CoupledBy,
    replace: bool,
    now: datetime,
    synced: tuple[Direction, str | None] | None = None,
) -> CouplingOutcome:
    """Couple BC ids to CRM ids one-to-one; refuse (or with `replace`, move) clashing couplings.

    `rows` needs `bc_id` and `crm_id`; optional `bc_synced_on` / `crm_synced_on` seed the
    last-synced timestamps (after a create they are the two records' modified-on values), and an
    optional `coupled_by` column overrides the argument per row. `synced` = (direction, job id)
    also records the new couplings as synced successfully by that job, as BC does after an insert.
    """
    frame = _requested(rows, coupled_by)
    frame, duplicates = _split_ambiguous(frame)
    lock_mapping(conn, mapping)
    existing = _coupled_ids(conn, mapping, frame["bc_id"].tolist(), frame["crm_id"].tolist())
    frame["coupled_crm_id"] = frame["bc_id"].map(existing.set_index("bc_id")["crm_id"])
    frame["coupled_bc_id"] = frame["crm_id"].map(existing.set_index("crm_id")["bc_id"])
    same = frame["coupled_crm_id"] == frame["crm_id"]
    bc_taken = frame["coupled_crm_id"].notna() & ~same
    crm_taken = frame["coupled_bc_id"].notna() & ~same
    clashing = bc_taken | crm_taken

    replaced = 0
    if replace and clashing.any():
        replaced = uncouple(
            conn,
            mapping,
            bc_ids=frame.loc[bc_taken, "bc_id"].tolist(),
            crm_ids=frame.loc[crm_taken, "crm_id"].tolist(),
        )
        conflicts = duplicates
        new = frame[~same]
    else:
        refused = frame[clashing].assign(reason=BC_ID_ALREADY_COUPLED)
        refused.loc[~bc_taken[clashing], "reason"] = CRM_ID_ALREADY_COUPLED
        conflicts = pd.concat([duplicates, refused[CONFLICT_COLUMNS]], ignore_index=True)
        new = frame[~same & ~clashing]

    columns = [*_NEW_COUPLING_COLUMNS]
    new = new.assign(mapping=mapping, created_on=now, updated_on=now, skipped=False)
    if synced is not None:
        prefix = direction_prefix(synced[0])
        new = new.assign(**{f"{prefix}_result": SyncResult.SUCCESS.value, f"{prefix}_job_id": synced[1]})
        columns += [f"{prefix}_result", f"{prefix}_job_id"]
    bulk_insert(conn, couplings, new[columns])
    return CouplingOutcome(
        coupled=len(new),
        already_coupled=int(same.sum()),
        replaced=replaced,
        conflicts=conflicts.reset_index(drop=True),
    )


def uncouple(
    conn: Connection,
    mapping: str,
    *,
    bc_ids: Sequence[str] = (),
    crm_ids: Sequence[str] = (),
) -> int:
    """Remove the couplings of the given BC and/or CRM ids; returns how many were removed."""
    lock_mapping(conn, mapping)
    removed = 0
    for column, ids in ((couplings.c.bc_id, bc_ids), (couplings.c.crm_id, crm_ids)):
        for batch in batches(list(ids)):
            result = conn.execute(delete(couplings).where(couplings.c.mapping == mapping, column.in_(batch)))
            removed += result.rowcount
    return removed


def select_skipped(conn: Connection, mapping: str) -> pd.DataFrame:
    query = select(*couplings.columns).where(couplings.c.mapping == mapping, couplings.c.skipped)
    return to_frame(conn.execute(query).all(), COLUMNS, TIMESTAMPS)


def restore_skipped(
    conn: Connection,
    mapping: str,
    *,
    bc_ids: Sequence[str] | None,
    crm_ids: Sequence[str] | None,
    now: datetime,
) -> int:
    """BC's "Restore" on the Skipped Records page: Skipped := false (all of the mapping's if no ids).

    The failure result stays, so the next run retries the record even if it is unchanged; the
    statistics flag is cleared so customer statistics are sent again, as BC does.
    """
    values = {"skipped": False, "statistics_uploaded": False, "updated_on": now}
    base = couplings.update().where(couplings.c.mapping == mapping, couplings.c.skipped).values(values)
    if bc_ids is None and crm_ids is None:
        return conn.execute(base).rowcount
    restored = 0
    for column, ids in ((couplings.c.bc_id, bc_ids or []), (couplings.c.crm_id, crm_ids or [])):
        for batch in batches(list(ids)):
            restored += conn.execute(base.where(column.in_(batch))).rowcount
    return restored


def select_failed_last_time(conn: Connection, mapping: str, result_column: str) -> pd.DataFrame:
    """Couplings whose last result in a direction is Failure and that are not skipped: retried next run."""
    query = select(couplings.c.bc_id, couplings.c.crm_id).where(
        couplings.c.mapping == mapping,
        couplings.c[result_column] == "Failure",
        or_(couplings.c.skipped.is_(False), couplings.c.skipped.is_(None)),
    )
    return to_frame(conn.execute(query).all(), ["bc_id", "crm_id"])


def _requested(rows: pd.DataFrame, coupled_by: CoupledBy) -> pd.DataFrame:
    frame = frame_of(rows)
    require_columns(frame, ["bc_id", "crm_id"], "couple")
    result = pd.DataFrame(
        {
            "bc_id": guids(frame["bc_id"].to_numpy(), "bc_id"),
            "crm_id": guids(frame["crm_id"].to_numpy(), "crm_id"),
        }
    )
    for column in ("bc_synced_on", "crm_synced_on"):
        values = frame[column] if column in frame.columns else pd.Series([None] * len(frame))
        # `.array`: a UTC-aware column stays one (to_numpy gives Timestamps, checked one by one).
        result[column] = utc_column(values.array, column)
    how = frame["coupled_by"] if "coupled_by" in frame.columns else [coupled_by] * len(frame)
    # Each distinct value checked once: the column usually holds one.
    named = {value: enum_of(CoupledBy, value, "coupled_by").value for value in dict.fromkeys(how)}
    result["coupled_by"] = [named[value] for value in how]
    return result.drop_duplicates(subset=["bc_id", "crm_id"], ignore_index=True)


def _split_ambiguous(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs naming the same BC or CRM id twice in one request are refused: which one wins is unknowable."""
    ambiguous = frame["bc_id"].duplicated(keep=False) | frame["crm_id"].duplicated(keep=False)
    refused = frame[ambiguous].assign(reason=DUPLICATE_IN_REQUEST, coupled_crm_id=None, coupled_bc_id=None)
    return frame[~ambiguous].reset_index(drop=True), refused[CONFLICT_COLUMNS]
