"""The job log (BC's "Integration Synch. Job"): one row per direction of a run, with BC's counters."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select, update

from bcsync.store.database import dialect_insert
from bcsync.store.frames import StoreInputError, to_frame
from bcsync.store.schema import Direction, JobType, sync_jobs

COLUMNS = [column.name for column in sync_jobs.columns]
COUNTERS = ("inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled", "uncoupled")


class UnknownJobError(LookupError):
    """`finish_job` was given a job id that `start_job` never recorded."""


def start_job(
    conn: Connection,
    *,
    mapping: str,
    direction: Direction,
    job_type: JobType,
    run_id: str | None,
    job_id: str | None,
    started_on: datetime,
) -> str:
    """Record a job as started; returns its id. Starting an id that exists is a no-op, so a retried
    task that derives its job id from the run (e.g. uuid5) continues the same job."""
    job_id = job_id or str(uuid.uuid4())
    statement = dialect_insert(conn, sync_jobs).values(
        job_id=job_id,
        mapping=mapping,
        direction=direction.value,
        type=job_type.value,
        run_id=run_id,
        started_on=started_on,
    )
    conn.execute(statement.on_conflict_do_nothing(index_elements=[sync_jobs.c.job_id]))
    return job_id


def finish_job(
    conn: Connection,
    job_id: str,
    counters: Mapping[str, int] | Any,
    *,
    message: str | None,
    finished_on: datetime,
) -> None:
    """Set the job's counters (a mapping such as `JobCounters.as_dict()`, or an object with `as_dict`),
    its message and finish time. Counter names are BC's, in any case: Inserted, Modified, ..."""
    values: dict[str, Any] = {**_counters(counters), "message": message, "finished_on": finished_on}
    result = conn.execute(update(sync_jobs).where(sync_jobs.c.job_id == str(job_id)).values(values))
    if result.rowcount == 0:
        raise UnknownJobError(f"no job {job_id!r}: start_job must record it first")


def report_progress(conn: Connection, job_id: str, written: int, total: int) -> None:
    """A running job's progress in its message ("written N of M"), until `finish_job` sets the final one."""
    conn.execute(
        update(sync_jobs)
        .where(sync_jobs.c.job_id == str(job_id), sync_jobs.c.finished_on.is_(None))
        .values(message=progress_message(written, total))
    )


def progress_message(written: int, total: int) -> str:
    return f"written {written} of {total}"


def select_jobs(conn: Connection, mapping: str | None, limit: int) -> pd.DataFrame:
    """The newest jobs first."""
    query = (
        select(*sync_jobs.columns).order_by(sync_jobs.c.started_on.desc(), sync_jobs.c.job_id).limit(limit)
    )
    if mapping is not None:
        query = query.where(sync_jobs.c.mapping == mapping)
    return to_frame(conn.execute(query).all(), COLUMNS, ["started_on", "finished_on"])


def _counters(counters: Mapping[str, int] | Any) -> dict[str, int]:
    if not isinstance(counters, Mapping):
        if not hasattr(counters, "as_dict"):
            raise StoreInputError(
                f"counters: expected a mapping or JobCounters, got {type(counters).__name__}"
            )
        counters = counters.as_dict()
    values: dict[str, int] = {}
    for name, count in counters.items():
        column = str(name).lower()
        if column not in COUNTERS:
            raise StoreInputError(f"counters: unknown counter {name!r}; known: {list(COUNTERS)}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise StoreInputError(f"counters: {name} must be a non-negative integer, got {count!r}")
        values[column] = count
    return values
