"""Job leases: one run at a time synchronizes a mapping, whichever scheduler, worker or machine runs it.

A run holds its mapping's lease from its first write (match-based coupling) until its job is
recorded. Its other tasks, retries and cleared tasks re-enter it; another run waits a bounded time
and then stops with `LeaseHeldError`. A lease not renewed in time (its holder crashed) is taken over.
Each acquisition is one conditional upsert, so two runs racing for a free lease cannot both win.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, select, update

from bcsync.store.database import dialect_insert
from bcsync.store.schema import LEASE_HOLDER_LENGTH, job_leases

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(minutes=10)  # renewed every third of it while a step of the holder runs
LEASE_WAIT_ENV = "BCSYNC_LEASE_WAIT_SECONDS"
DEFAULT_LEASE_WAIT = timedelta(minutes=2)
LEASE_POLL_SECONDS = 5.0


def default_lease_wait() -> timedelta:
    """How long a run waits for another run of its job to finish: `BCSYNC_LEASE_WAIT_SECONDS`, else 2 min."""
    value = os.environ.get(LEASE_WAIT_ENV)
    if value in (None, ""):
        return DEFAULT_LEASE_WAIT
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{LEASE_WAIT_ENV}: expected a number of seconds, got {value!r}") from None
    return timedelta(seconds=max(seconds, 0.0))


@dataclass(frozen=True)
class Lease:
    """A mapping's lease as stored. `previous` is the holder whose expired lease this one replaced."""

    mapping: str
    holder: str
    acquired_on: datetime
    expires_on: datetime
    reentered: bool = False  # the holder already held it (another task or try of the same run)
    previous: str | None = None


class LeaseHeldError(RuntimeError):
    """Another run holds the mapping's lease: this run stops before writing anything twice."""

    def __init__(self, lease: Lease, wanted_by: str, waited: timedelta) -> None:
        self.lease = lease
        self.wanted_by = wanted_by
        super().__init__(
            f"{lease.mapping} is being synchronized by {lease.holder} since "
            f"{lease.acquired_on:%Y-%m-%d %H:%M:%S} UTC; this run ({wanted_by}) stops so no record is "
            f"written twice (waited {waited.total_seconds():.0f} s; a retry after that run has "
            "finished will go ahead)"
        )


def check_holder(holder: str) -> str:
    if not isinstance(holder, str) or not holder.strip() or len(holder) > LEASE_HOLDER_LENGTH:
        raise ValueError(f"lease holder: expected 1 to {LEASE_HOLDER_LENGTH} characters, got {holder!r}")
    return holder


def select_lease(conn: Connection, mapping: str) -> Lease | None:
    row = conn.execute(select(*job_leases.columns).where(job_leases.c.mapping == mapping)).one_or_none()
    if row is None:
        return None
    return Lease(row.mapping, row.holder, row.acquired_on, row.expires_on)


def try_acquire(conn: Connection, mapping: str, holder: str, *, now: datetime, ttl: timedelta) -> Lease:
    """Take the lease if it is free, expired or already ours; returns the lease in force afterwards.

    The upsert's WHERE is evaluated by the database against the row as committed (PostgreSQL locks
    it; SQLite writers are serialised), so of two runs only one can turn a free lease into its own.
    """
    before = select_lease(conn, mapping)
    statement = dialect_insert(conn, job_leases).values(
        mapping=mapping, holder=holder, acquired_on=now, expires_on=now + ttl
    )
    mine = job_leases.c.holder == statement.excluded.holder
    statement = statement.on_conflict_do_update(
        index_elements=[job_leases.c.mapping],
        set_={
            "holder": statement.excluded.holder,
            # Re-entering keeps the time the run first took it: the message others see names that time.
            "acquired_on": case((mine, job_leases.c.acquired_on), else_=statement.excluded.acquired_on),
            "expires_on": statement.excluded.expires_on,
        },
        where=mine | (job_leases.c.expires_on < now),
    )
    conn.execute(statement)
    lease = select_lease(conn, mapping)
    assert lease is not None  # just written, or held by another run
    if lease.holder != holder or before is None:
        return lease
    if before.holder == holder:
        return Lease(mapping, holder, lease.acquired_on, lease.expires_on, reentered=True)
    return Lease(mapping, holder, lease.acquired_on, lease.expires_on, previous=before.holder)


def renew(conn: Connection, mapping: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Push the holder's lease forward; False when it is not (any more) the holder's."""
    statement = (
        update(job_leases)
        .where(job_leases.c.mapping == mapping, job_leases.c.holder == holder)
        .values(expires_on=now + ttl)
    )
    return conn.execute(statement).rowcount > 0


def release(conn: Connection, mapping: str, holder: str) -> bool:
    """Give the lease up; a lease another run holds now is left alone. True when one was released."""
    statement = delete(job_leases).where(job_leases.c.mapping == mapping, job_leases.c.holder == holder)
    return conn.execute(statement).rowcount > 0
