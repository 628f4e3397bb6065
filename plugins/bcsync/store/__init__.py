"""The coupling store: couplings, watermarks, record errors, the job log, the pending-writes journal and
the job leases.

SQL via SQLAlchemy (SQLite file or PostgreSQL), schema kept by Alembic migrations; see docs/store.md.
"""

from bcsync.store.couplings import CouplingOutcome
from bcsync.store.database import StoreConfigurationError, create_store_engine, url_from_connection
from bcsync.store.frames import StoreInputError
from bcsync.store.jobs import UnknownJobError
from bcsync.store.leases import Lease, LeaseHeldError
from bcsync.store.migrations import current_revision, head_revision, upgrade_to_head
from bcsync.store.results import BC_SKIPS_AFTER, RecordedResults
from bcsync.store.schema import CoupledBy, Direction, JobType, PendingState, SyncResult
from bcsync.store.store import CouplingStore

__all__ = [
    "BC_SKIPS_AFTER",
    "CoupledBy",
    "CouplingOutcome",
    "CouplingStore",
    "Direction",
    "JobType",
    "Lease",
    "LeaseHeldError",
    "PendingState",
    "RecordedResults",
    "StoreConfigurationError",
    "StoreInputError",
    "SyncResult",
    "UnknownJobError",
    "create_store_engine",
    "current_revision",
    "head_revision",
    "upgrade_to_head",
    "url_from_connection",
]
