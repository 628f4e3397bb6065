"""`CouplingStore`: the one entry point to the coupling store, one transaction per call.

Constructing a store does no I/O (DAG files may build one at parse time); the first call migrates
the database to the newest schema.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, or_, update
from sqlalchemy.engine import URL

from bcsync.store import couplings as coupling_rows
from bcsync.store import errors, jobs, leases, pending, results, watermarks
from bcsync.store.couplings import CouplingOutcome
from bcsync.store.database import (
    DEFAULT_CONN_ID,
    create_store_engine,
    default_sqlite_url,
    read_transaction,
    url_from_connection,
    write_transaction,
)
from bcsync.store.frames import StoreInputError, direction_of, enum_of, frame_of, guid_list, guids, utc
from bcsync.store.leases import Lease, LeaseHeldError
from bcsync.store.migrations import upgrade_to_head
from bcsync.store.results import BC_SKIPS_AFTER, RecordedResults
from bcsync.store.schema import MAPPING_LENGTH, CoupledBy, Direction, JobType, couplings, direction_prefix

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Ids = Iterable[str]


def utc_now() -> datetime:
    return datetime.now(UTC)


class CouplingStore:
    """Couplings, watermarks, record errors, the job log and the pending-writes journal of bcsync.

    :param url_or_engine: a SQLAlchemy URL (``sqlite:////abs/store.db``,
        ``postgresql://user@host:5432/db``) or an engine made by `create_store_engine`.
    :param clock: returns the current UTC time; tests pass a fixed clock.

    Every method is one transaction. Frames in and out use canonical lower-case GUID strings and
    timezone-aware UTC timestamps; ids are accepted in any case, with or without braces.
    """

    def __init__(self, url_or_engine: str | URL | Engine, *, clock: Clock = utc_now) -> None:
        if isinstance(url_or_engine, Engine):
            self.engine = url_or_engine
        else:
            self.engine = create_store_engine(url_or_engine)
        self._clock = clock
        self._migrated = False
        self._shared = threading.local()  # this thread's `one_transaction` connection, if any

    @classmethod
    def from_connection(cls, conn_id: str = DEFAULT_CONN_ID, *, clock: Clock = utc_now) -> CouplingStore:
        """The store behind an Airflow Connection (see docs/store.md). Without the default
        connection, the embedded SQLite file under AIRFLOW_HOME is used."""
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            url = url_from_connection(BaseHook.get_connection(conn_id))
        except AirflowNotFoundException:
            if conn_id != DEFAULT_CONN_ID:
                raise
            url = default_sqlite_url()
            log.info("no Airflow connection %r: using the embedded store %s", conn_id, url.database)
        return cls(url, clock=clock)

    def dispose(self) -> None:
        """Close pooled connections (tests, and processes that fork)."""
        self.engine.dispose()

    # ---- couplings (BC's "CRM Integration Record") ----

    def couplings(self, mapping: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Every coupling of a mapping, one row each (columns: see docs/store.md); with `columns`,
        only those (a big mapping's couplings are read without the columns nobody looks at)."""
        with self._read() as conn:
            if columns is None:
                return coupling_rows.select_couplings(conn, _mapping(mapping))
            return coupling_rows.select_couplings(conn, _mapping(mapping), columns=_coupling_columns(columns))

    def couplings_for(
        self, mapping: str, bc_ids: Ids | None = None, crm_ids: Ids | None = None
    ) -> pd.DataFrame:
        """The couplings touching any of the given BC or CRM ids."""
        bc, crm = guid_list(bc_ids, "bc_ids"), guid_list(crm_ids, "crm_ids")
        with self._read() as conn:
            return coupling_rows.select_couplings(conn, _mapping(mapping), bc, crm)

    def couple(
        self,
        mapping: str,
        rows: pd.DataFrame | Iterable[Any],
        *,
        coupled_by: CoupledBy | str = CoupledBy.MATCH,
        replace: bool = False,
        synced_direction: Direction | str | None = None,
        job_id: str | None = None,
    ) -> CouplingOutcome:
        """Couple pairs one-to-one (columns `bc_id`, `crm_id`, optional `bc_synced_on`, `crm_synced_on`,
        `coupled_by`). A pair whose BC or CRM id is coupled elsewhere is refused and returned in
        `conflicts`, unless `replace` moves the coupling (BC's re-coupling).

        After the sync created the counterparts, pass `synced_direction` and `job_id`: the couplings
        are then written as synced successfully in that direction by that job, in the same insert.
        """
        how = enum_of(CoupledBy, coupled_by, "coupled_by")
        synced = None if synced_direction is None else (direction_of(synced_direction), _job_id(job_id))
        with self._write() as conn:
            return coupling_rows.couple(
                conn,
                _mapping(mapping),
                frame_of(rows),
                coupled_by=how,
                replace=replace,
                now=self._now(),
                synced=synced,
            )

    def couple_created(
        self, mapping: str, direction: Direction | str, rows: pd.DataFrame, *, job_id: str | None
    ) -> CouplingOutcome:
        """Couple records this job just created as synced successfully by it, in one transaction: as
        `couple(..., coupled_by="create")` then `record_sync_results` with a Success for each would.

        `rows`: `bc_id`, `crm_id`, `bc_synced_on`, `crm_synced_on` (the two records' modified-on).
        When every pair is new (the usual case) the insert writes the results and the records' open
        errors are closed; when some pair was coupled already (a retried task) or clashes, the results
        are recorded onto the couplings as `record_sync_results` does.
        """
        chosen = direction_of(direction)
        synced = (chosen, _job_id(job_id))
        with self._write() as conn:
            frame = frame_of(rows)
            outcome = coupling_rows.couple(
                conn,
                _mapping(mapping),
                frame,
                coupled_by=CoupledBy.CREATE,
                replace=False,
                now=self._now(),
                synced=synced,
            )
            key = results.source_column(chosen)
            if outcome.coupled == len(frame) and frame[key].is_unique:
                errors.resolve_errors(
                    conn, _mapping(mapping), chosen, guid_list(frame[key], key), now=self._now()
                )
                return outcome
            succeeded = pd.DataFrame(
                {
                    key: frame[key].to_numpy(),
                    "result": "Success",
                    "bc_modified_on": frame["bc_synced_on"].array,
                    "crm_modified_on": frame["crm_synced_on"].array,
                }
            )
            results.record_sync_results(
                conn,
                _mapping(mapping),
                chosen,
                succeeded,
                job_id=synced[1],
                skip_after=BC_SKIPS_AFTER,
                now=self._now(),
            )
            return outcome

    def uncouple(self, mapping: str, *, bc_ids: Ids = (), crm_ids: Ids = ()) -> int:
        """Remove the couplings of these records; returns how many were removed."""
        bc, crm = guid_list(bc_ids, "bc_ids"), guid_list(crm_ids, "crm_ids")
        with self._write() as conn:
            return coupling_rows.uncouple(conn, _mapping(mapping), bc_ids=bc, crm_ids=crm)

    def record_sync_results(
        self,
        mapping: str,
        direction: Direction | str,
        outcomes: pd.DataFrame | Iterable[Any],
        *,
        job_id: str | None = None,
        skip_after: int = BC_SKIPS_AFTER,
    ) -> RecordedResults:
        """Write one pass's per-record outcomes onto the couplings (see `results.record_sync_results`)."""
        with self._write() as conn:
            return results.record_sync_results(
                conn,
                _mapping(mapping),
                direction_of(direction),
                frame_of(outcomes),
                job_id=_job_id(job_id),
                skip_after=skip_after,
                now=self._now(),
            )

    def skipped(self, mapping: str) -> pd.DataFrame:
        """The couplings marked Skipped (BC's "CRM Skipped Records")."""
        with self._read() as conn:
            return coupling_rows.select_skipped(conn, _mapping(mapping))

    def restore_skipped(self, mapping: str, *, bc_ids: Ids | None = None, crm_ids: Ids | None = None) -> int:
        """Restore skipped couplings (all of the mapping's when no ids are given); returns how many."""
        everything = bc_ids is None and crm_ids is None
        bc = None if everything else guid_list(bc_ids, "bc_ids")
        crm = None if everything else guid_list(crm_ids, "crm_ids")
        with self._write() as conn:
            return coupling_rows.restore_skipped(
                conn, _mapping(mapping), bc_ids=bc, crm_ids=crm, now=self._now()
            )

    def failed_last_time(self, mapping: str, direction: Direction | str) -> pd.DataFrame:
        """`bc_id`, `crm_id` of couplings whose last result in this direction is Failure and that are
        not skipped: BC processes them again even if unchanged."""
        prefix = direction_prefix(direction_of(direction))
        with self._read() as conn:
            return coupling_rows.select_failed_last_time(conn, _mapping(mapping), f"{prefix}_result")

    def clear_synced_on(self, mapping: str, direction: Direction | str) -> int:
        """Forget the source side's last-synced timestamps of a direction, so every coupled record counts
        as changed (BC's "Run Unconditional Full Synchronization"); returns the couplings touched."""
        side = "bc_synced_on" if direction_of(direction) is Direction.TO_CRM else "crm_synced_on"
        statement = (
            update(couplings)
            .where(couplings.c.mapping == _mapping(mapping))
            .values({side: None, "updated_on": self._now()})
        )
        with self._write() as conn:
            return conn.execute(statement).rowcount

    def set_last_synch_crm_modified_on(self, mapping: str, modified_on: Mapping[str, datetime]) -> int:
        """BC's `SetLastSynchCRMModifiedOn`: the couplings of these Dataverse rows ({crm_id: its new
        modified-on}) take it as last synchronized, only forward. For a write to a row that changes none
        of the mapping's fields (the statistics job linking an account), so the mapping sees no change."""
        if not modified_on:
            return 0
        ids = guid_list(list(modified_on), "crm_ids")
        stamps = [utc(stamp, "modified_on") for stamp in modified_on.values()]
        rows = [{"row": guid, "stamp": stamp} for guid, stamp in zip(ids, stamps, strict=True)]
        stored = couplings.c.crm_synced_on
        statement = (
            update(couplings)
            .where(
                couplings.c.mapping == _mapping(mapping),
                couplings.c.crm_id == bindparam("row"),
                or_(stored.is_(None), stored < bindparam("stamp")),
            )
            .values(crm_synced_on=bindparam("stamp"), updated_on=self._now())
        )
        with self._write() as conn:
            return conn.execute(statement, rows).rowcount

    # ---- watermarks ("Synch. Int. Tbl. Mod. On Fltr." / "Synch. Modified On Filter") ----

    def get_watermark(self, mapping: str, direction: Direction | str) -> datetime | None:
        """The modified-on high-water mark; None means "read every record"."""
        with self._read() as conn:
            return watermarks.get_watermark(conn, _mapping(mapping), direction_of(direction))

    def advance_watermark(
        self,
        mapping: str,
        direction: Direction | str,
        value: datetime,
        *,
        not_after: datetime | None = None,
    ) -> datetime:
        """Move the watermark forward to `value` (never backwards); returns the watermark in force.

        `not_after` caps the value, BC-style, at the run's start, so a record changed during the run
        is read again next time.
        """
        stamp = utc(value, "value")
        if stamp is None:
            raise StoreInputError("advance_watermark: value is required")
        cap = utc(not_after, "not_after")
        if cap is not None:
            stamp = min(stamp, cap)
        with self._write() as conn:
            return watermarks.advance_watermark(
                conn, _mapping(mapping), direction_of(direction), stamp, now=self._now()
            )

    def clear_watermarks(self, mapping: str, directions: Iterable[Direction | str] | None = None) -> int:
        """Clear the mapping's watermarks (both directions by default): BC's Full Synchronization."""
        chosen = list(Direction) if directions is None else [direction_of(d) for d in directions]
        with self._write() as conn:
            return watermarks.clear_watermarks(conn, _mapping(mapping), chosen)

    def watermarks(self, mapping: str | None = None) -> pd.DataFrame:
        with self._read() as conn:
            return watermarks.select_watermarks(conn, None if mapping is None else _mapping(mapping))

    # ---- record errors ("Integration Synch. Job Errors") ----

    def add_record_errors(self, rows: pd.DataFrame | Iterable[Any]) -> int:
        """Log per-record errors (see `errors.add_record_errors` for the columns); returns how many."""
        with self._write() as conn:
            return errors.add_record_errors(conn, frame_of(rows), now=self._now())

    def errors(
        self,
        mapping: str | None = None,
        direction: Direction | str | None = None,
        *,
        resolved: bool | None = False,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        """Errors open (default), closed (`resolved=True`) or both (None), logged since `since`: the
        newest `limit`, oldest first (the Errors page's filters)."""
        chosen = None if direction is None else direction_of(direction)
        with self._read() as conn:
            return errors.select_errors(
                conn,
                None if mapping is None else _mapping(mapping),
                chosen,
                resolved=resolved,
                since=since,
                limit=limit,
            )

    def open_errors(
        self, mapping: str | None = None, direction: Direction | str | None = None
    ) -> pd.DataFrame:
        """Errors not yet resolved by a later success, oldest first."""
        chosen = None if direction is None else direction_of(direction)
        with self._read() as conn:
            return errors.select_open_errors(conn, None if mapping is None else _mapping(mapping), chosen)

    def delete_entries_older_than(self, days: float, mapping: str | None = None) -> tuple[int, int, int]:
        """BC's job-log clean-up: delete jobs and errors older than `days` days, keeping those that
        skipped couplings reference. Returns (errors deleted, jobs deleted, old entries kept)."""
        if days < 0:
            raise StoreInputError(f"days must not be negative, got {days}")
        cutoff = self._now() - timedelta(days=days)
        with self._write() as conn:
            return errors.delete_entries_older_than(
                conn, cutoff, None if mapping is None else _mapping(mapping)
            )

    # ---- job log ("Integration Synch. Job") ----

    def start_job(
        self,
        mapping: str,
        direction: Direction | str,
        *,
        job_type: JobType | str = JobType.SCHEDULED,
        run_id: str | None = None,
        job_id: str | None = None,
    ) -> str:
        """Record a job as started and return its id (a new uuid4 unless given)."""
        how = enum_of(JobType, job_type, "job_type")
        with self._write() as conn:
            return jobs.start_job(
                conn,
                mapping=_mapping(mapping),
                direction=direction_of(direction),
                job_type=how,
                run_id=run_id,
                job_id=_job_id(job_id),
                started_on=self._now(),
            )

    def finish_job(
        self, job_id: str, counters: Mapping[str, int] | Any, *, message: str | None = None
    ) -> None:
        """Store the job's final counters (BC names: Inserted, Modified, ...) and message."""
        with self._write() as conn:
            jobs.finish_job(conn, job_id, counters, message=message, finished_on=self._now())

    def report_progress(self, job_id: str, written: int, total: int) -> None:
        """Keep a running job's progress in its message ("written N of M") for the pages to show."""
        with self._write() as conn:
            jobs.report_progress(conn, job_id, written, total)

    def jobs(self, mapping: str | None = None, *, limit: int = 100) -> pd.DataFrame:
        """The job log, newest first."""
        if limit < 1:
            raise StoreInputError(f"limit must be at least 1, got {limit}")
        with self._read() as conn:
            return jobs.select_jobs(conn, None if mapping is None else _mapping(mapping), limit)

    # ---- pending-writes journal ----

    def record_pending(
        self,
        mapping: str,
        direction: Direction | str,
        rows: pd.DataFrame | Iterable[Any],
        *,
        job_id: str | None = None,
        columns: Sequence[str] = pending.COLUMNS,
    ) -> pd.DataFrame:
        """Journal creates before sending them; returns the open entries (reuse their destination_id),
        `columns` of them."""
        with self._write() as conn:
            return pending.record_pending(
                conn,
                _mapping(mapping),
                direction_of(direction),
                frame_of(rows),
                job_id=_job_id(job_id),
                now=self._now(),
                columns=columns,
            )

    def confirm(self, mapping: str, direction: Direction | str, source_ids: Ids) -> int:
        """Mark journalled creates as done (after their couplings are written)."""
        ids = guid_list(source_ids, "source_ids")
        with self._write() as conn:
            return pending.confirm_pending(
                conn, _mapping(mapping), direction_of(direction), ids, now=self._now()
            )

    def abandon(self, mapping: str, direction: Direction | str, source_ids: Ids) -> int:
        """Mark journalled creates as never having happened."""
        ids = guid_list(source_ids, "source_ids")
        with self._write() as conn:
            return pending.abandon_pending(
                conn, _mapping(mapping), direction_of(direction), ids, now=self._now()
            )

    def list_pending(self, mapping: str, direction: Direction | str) -> pd.DataFrame:
        """Creates still open: a retried task must reconcile each (found → couple + confirm, else abandon)."""
        with self._read() as conn:
            return pending.select_pending(conn, _mapping(mapping), direction_of(direction))

    # ---- job leases (one run at a time per mapping) ----

    def acquire_lease(
        self,
        mapping: str,
        holder: str,
        *,
        wait: timedelta | None = None,
        ttl: timedelta = leases.LEASE_TTL,
        poll_seconds: float = leases.LEASE_POLL_SECONDS,
    ) -> Lease:
        """Take the mapping's lease for `holder` (a run: "<dag_id> run <run_id>"), or re-enter it.

        While another holder's lease is in force, polls for up to `wait` (default:
        `BCSYNC_LEASE_WAIT_SECONDS`, else 2 minutes), then raises `LeaseHeldError` naming that holder.
        An expired lease (its holder stopped renewing it) is taken over, with a warning.
        """
        name, holder = _mapping(mapping), leases.check_holder(holder)
        wait = leases.default_lease_wait() if wait is None else wait
        deadline = time.monotonic() + wait.total_seconds()
        while True:
            with self._write() as conn:
                lease = leases.try_acquire(conn, name, holder, now=self._now(), ttl=ttl)
            if lease.holder == holder:
                if not lease.reentered:
                    log.info("%s: lease taken by %s until %s", name, holder, lease.expires_on.isoformat())
                if lease.previous is not None:
                    log.warning(
                        "%s: took over the lease of %s, which expired without being released "
                        "(that run stopped or lost its worker)",
                        name,
                        lease.previous,
                    )
                return lease
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LeaseHeldError(lease, holder, wait)
            log.info("%s is being synchronized by %s; waiting for it to finish", name, lease.holder)
            time.sleep(min(poll_seconds, remaining))

    def renew_lease(self, mapping: str, holder: str, *, ttl: timedelta = leases.LEASE_TTL) -> bool:
        """Move the holder's lease expiry to now + `ttl`; False when the holder no longer has it."""
        with self._write() as conn:
            return leases.renew(
                conn, _mapping(mapping), leases.check_holder(holder), now=self._now(), ttl=ttl
            )

    def release_lease(self, mapping: str, holder: str) -> bool:
        """Give up the holder's lease; another holder's is left alone. True when a lease was released."""
        with self._write() as conn:
            return leases.release(conn, _mapping(mapping), leases.check_holder(holder))

    def lease(self, mapping: str) -> Lease | None:
        """The mapping's lease as stored (it may have expired), or None."""
        with self._read() as conn:
            return leases.select_lease(conn, _mapping(mapping))

    @contextmanager
    def holding_lease(
        self,
        mapping: str,
        holder: str,
        *,
        first_step: bool,
        wait: timedelta | None = None,
        ttl: timedelta = leases.LEASE_TTL,
    ) -> Iterator[Lease]:
        """Acquire (or re-enter) the lease and keep it alive while the block runs.

        A thread renews it every third of `ttl`. On leaving, the holder's first step keeps it for the
        steps after it. A later step keeps a lease it re-entered, and gives back one it had to take
        afresh: its run had already released it (a task cleared after the run ended).
        """
        lease = self.acquire_lease(mapping, holder, wait=wait, ttl=ttl)
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(ttl.total_seconds() / 3):
                try:
                    if not self.renew_lease(mapping, holder, ttl=ttl):
                        log.error("%s: the lease of %s was taken over by another run", mapping, holder)
                        return
                except Exception:  # a missed renewal is retried a third of the lease later
                    log.exception("%s: could not renew the lease of %s", mapping, holder)

        renewer = threading.Thread(target=heartbeat, name=f"lease-{mapping}", daemon=True)
        renewer.start()
        try:
            yield lease
        finally:
            stop.set()
            renewer.join()
            if not (first_step or lease.reentered):
                self.release_lease(mapping, holder)

    # ---- plumbing ----

    @contextmanager
    def one_transaction(self) -> Iterator[CouplingStore]:
        """The calls this thread makes on the store inside the block share one write transaction,
        committed at its end or rolled back as a whole: a load's couplings, results, journal and errors
        are written together, without a transaction (and its commit) per call. Nested blocks join the
        outer one; calls from other threads keep their own transactions."""
        if getattr(self._shared, "conn", None) is not None:
            yield self
            return
        with self._write() as conn:
            self._shared.conn = conn
            try:
                yield self
            finally:
                self._shared.conn = None

    def _now(self) -> datetime:
        now = utc(self._clock(), "clock")
        assert now is not None
        return now

    def _ready(self) -> None:
        if not self._migrated:
            upgrade_to_head(self.engine)
            self._migrated = True

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        shared = getattr(self._shared, "conn", None)
        if shared is not None:
            yield shared
            return
        self._ready()
        with write_transaction(self.engine) as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        shared = getattr(self._shared, "conn", None)
        if shared is not None:  # reads inside `one_transaction` see its writes
            yield shared
            return
        self._ready()
        with read_transaction(self.engine) as conn:
            yield conn


def _mapping(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAPPING_LENGTH:
        raise StoreInputError(f"mapping: expected a name of 1 to {MAPPING_LENGTH} characters, got {name!r}")
    return name


def _coupling_columns(columns: Sequence[str]) -> list[str]:
    unknown = [name for name in columns if name not in coupling_rows.COLUMNS]
    if unknown:
        raise StoreInputError(f"columns: no coupling column {unknown}; they are {coupling_rows.COLUMNS}")
    return list(dict.fromkeys(columns))


def _job_id(job_id: str | None) -> str | None:
    """Job ids are GUIDs (`start_job` returns them); anything else is a caller's mistake."""
    return None if job_id is None else guids([job_id], "job_id").iloc[0]
