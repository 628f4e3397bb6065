"""Per-record sync errors (BC's "Integration Synch. Job Errors"), with the Airflow task try that logged them.

An error stays open until a later success of the same record in the same direction resolves it, or a
later failure of it supersedes it (the newest error of a record is the one that says why it fails now).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, delete, or_, select, update

from bcsync.store.bulk import bulk_insert
from bcsync.store.database import one_of
from bcsync.store.frames import (
    StoreInputError,
    batches,
    direction_of,
    frame_of,
    guids,
    require_columns,
    to_frame,
    utc_column,
)
from bcsync.store.schema import MESSAGE_LENGTH, Direction, couplings, record_errors, sync_jobs

COLUMNS = [column.name for column in record_errors.columns]
TIMESTAMPS = ["logged_on", "resolved_on"]
_OPTIONAL_TEXT = ["job_id", "run_id", "task_id", "bc_number", "name", "detail"]


def add_record_errors(conn: Connection, rows: pd.DataFrame, *, now: datetime) -> int:
    """Log errors in bulk. Required: mapping, direction, message. A message longer than BC's 250
    characters is cut, and the full text kept in `detail` when no detail was given."""
    frame = frame_of(rows)
    if frame.empty:
        return 0
    require_columns(frame, ["mapping", "direction", "message"], "add_record_errors")
    out = pd.DataFrame({"mapping": frame["mapping"].astype(str).to_numpy()})
    # Each distinct direction checked once: a load's errors all have the same.
    named = {value: direction_of(value).value for value in dict.fromkeys(frame["direction"])}
    out["direction"] = [named[value] for value in frame["direction"]]
    for column in ("bc_id", "crm_id"):
        values = frame[column].to_numpy() if column in frame.columns else [None] * len(frame)
        out[column] = guids(values, column, optional=True)
    if frame["message"].isna().any():
        raise StoreInputError("add_record_errors: every error needs a message")
    message = frame["message"].astype(str).to_numpy()
    out["message"] = [text[:MESSAGE_LENGTH] for text in message]
    for column in _OPTIONAL_TEXT:
        out[column] = frame[column].to_numpy() if column in frame.columns else None
    too_long = pd.Series([len(text) > MESSAGE_LENGTH for text in message])
    out["detail"] = out["detail"].where(out["detail"].notna() | ~too_long, pd.Series(message))
    tries = frame["try_number"].to_numpy() if "try_number" in frame.columns else [None] * len(frame)
    out["try_number"] = pd.array(tries, dtype="Int64")
    logged = frame["logged_on"].to_numpy() if "logged_on" in frame.columns else [now] * len(frame)
    out["logged_on"] = utc_column(logged, "logged_on").fillna(now)
    out["resolved"] = False
    _supersede(conn, out, now)
    bulk_insert(conn, record_errors, out)
    return len(out)


def _supersede(conn: Connection, new: pd.DataFrame, now: datetime) -> None:
    """Close the open errors of records that fail again: each record keeps one open error per direction,
    its newest (a record failing in every full synchronization would otherwise pile up open errors)."""
    for (mapping, direction), rows in new.groupby(["mapping", "direction"]):
        source = record_errors.c.bc_id if direction == Direction.TO_CRM.value else record_errors.c.crm_id
        ids = rows["bc_id" if direction == Direction.TO_CRM.value else "crm_id"].dropna().unique().tolist()
        statement = (
            update(record_errors)
            .where(
                record_errors.c.mapping == mapping,
                record_errors.c.direction == direction,
                record_errors.c.resolved.is_(False),
            )
            .values(resolved=True, resolved_on=now)
        )
        for batch in batches(ids):
            conn.execute(statement.where(one_of(conn, source, batch)))


def select_open_errors(
    conn: Connection, mapping: str | None = None, direction: Direction | None = None
) -> pd.DataFrame:
    query = select(*record_errors.columns).where(record_errors.c.resolved.is_(False))
    if mapping is not None:
        query = query.where(record_errors.c.mapping == mapping)
    if direction is not None:
        query = query.where(record_errors.c.direction == direction.value)
    query = query.order_by(record_errors.c.id)
    return to_frame(conn.execute(query).all(), COLUMNS, TIMESTAMPS)


def select_errors(
    conn: Connection,
    mapping: str | None,
    direction: Direction | None,
    *,
    resolved: bool | None,
    since: datetime | None,
    limit: int,
) -> pd.DataFrame:
    """Errors open (`resolved=False`), closed (True) or both (None), logged at or after `since`; the
    newest `limit`, returned oldest first."""
    query = select(*record_errors.columns)
    if resolved is not None:
        query = query.where(record_errors.c.resolved.is_(resolved))
    if mapping is not None:
        query = query.where(record_errors.c.mapping == mapping)
    if direction is not None:
        query = query.where(record_errors.c.direction == direction.value)
    if since is not None:
        query = query.where(record_errors.c.logged_on >= since)
    newest = query.order_by(record_errors.c.id.desc()).limit(limit)
    return to_frame(conn.execute(newest).all()[::-1], COLUMNS, TIMESTAMPS)


def resolve_errors(
    conn: Connection, mapping: str, direction: Direction, source_ids: Sequence[str], *, now: datetime
) -> int:
    """Close the open errors of these source records (BC id for To, CRM id for From)."""
    column = record_errors.c.bc_id if direction is Direction.TO_CRM else record_errors.c.crm_id
    statement = (
        update(record_errors)
        .where(
            record_errors.c.mapping == mapping,
            record_errors.c.direction == direction.value,
            record_errors.c.resolved.is_(False),
        )
        .values(resolved=True, resolved_on=now)
    )
    return sum(
        conn.execute(statement.where(one_of(conn, column, batch))).rowcount
        for batch in batches(list(source_ids))
    )


def delete_entries_older_than(
    conn: Connection, cutoff: datetime, mapping: str | None = None
) -> tuple[int, int, int]:
    """BC's DeleteEntries on the job log: jobs started before `cutoff` and errors logged before it go,
    except the jobs a skipped coupling references (its last job in either direction) and their errors,
    which the Skipped Records page still shows. Returns (errors deleted, jobs deleted, entries kept)."""
    kept_jobs = _jobs_of_skipped_couplings(conn, mapping)
    errors_filter = [record_errors.c.logged_on < cutoff]
    jobs_filter = [sync_jobs.c.started_on < cutoff]
    if mapping is not None:
        errors_filter.append(record_errors.c.mapping == mapping)
        jobs_filter.append(sync_jobs.c.mapping == mapping)
    old_errors = select(record_errors.c.id, record_errors.c.job_id).where(*errors_filter)
    old_jobs = select(sync_jobs.c.job_id).where(*jobs_filter)
    error_rows = conn.execute(old_errors).all()
    job_rows = [row.job_id for row in conn.execute(old_jobs).all()]
    doomed_errors = [row.id for row in error_rows if row.job_id not in kept_jobs]
    doomed_jobs = [job for job in job_rows if job not in kept_jobs]
    for batch in batches(doomed_errors):
        conn.execute(delete(record_errors).where(record_errors.c.id.in_(batch)))
    for batch in batches(doomed_jobs):
        conn.execute(delete(sync_jobs).where(sync_jobs.c.job_id.in_(batch)))
    kept = len(error_rows) - len(doomed_errors) + len(job_rows) - len(doomed_jobs)
    return len(doomed_errors), len(doomed_jobs), kept


def _jobs_of_skipped_couplings(conn: Connection, mapping: str | None) -> set[str]:
    query = select(couplings.c.to_crm_job_id, couplings.c.from_crm_job_id).where(
        couplings.c.skipped,
        or_(couplings.c.to_crm_job_id.isnot(None), couplings.c.from_crm_job_id.isnot(None)),
    )
    if mapping is not None:
        query = query.where(couplings.c.mapping == mapping)
    return {job for row in conn.execute(query).all() for job in row if job}
