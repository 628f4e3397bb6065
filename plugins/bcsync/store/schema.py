"""The coupling store's tables (SQLAlchemy Core) and the vocabulary of their coded columns.

This is the current shape; the migrations under `migrations/versions/` build it step by step and a
test checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator

GUID_LENGTH = 36
MAPPING_LENGTH = 100  # BC mapping names are Code[20]; temporary copies are named by a GUID
LEASE_HOLDER_LENGTH = 500  # a DAG id (250) and a run id (250)
MESSAGE_LENGTH = 250  # BC's "Message" is Text[250]; the full text goes to `detail`
OPEN_PENDING_WRITE = "state = 'pending'"  # the partial unique index's predicate, also its ON CONFLICT target
VERSION_TABLE = "bcsync_store_version"  # not "alembic_version": the store may share Airflow's database


class Direction(StrEnum):
    """One direction of a sync, with BC's option names (equal to the engine's `SyncPass` values)."""

    TO_CRM = "ToIntegrationTable"  # BC → Dataverse
    FROM_CRM = "FromIntegrationTable"  # Dataverse → BC


def direction_prefix(direction: Direction) -> str:
    """The prefix of a direction's coupling columns: `to_crm_result`, `from_crm_job_id`, ..."""
    return "to_crm" if direction is Direction.TO_CRM else "from_crm"


class SyncResult(StrEnum):
    """BC's "Last Synch. Result" options; blank (never synced in that direction) is NULL."""

    SUCCESS = "Success"
    FAILURE = "Failure"


class CoupledBy(StrEnum):
    """How a coupling came to be."""

    MATCH = "match"  # match-based coupling, or the engine found the counterpart (e.g. currency by ISO code)
    CREATE = "create"  # the sync created the counterpart (insert, restore of a deleted record)
    MANUAL = "manual"  # a user coupled the two records


class JobType(StrEnum):
    """What started an "Integration Synch. Job"."""

    SCHEDULED = "scheduled"
    FULL = "full"  # BC's Full Synchronization: modified-on filters cleared first
    BACKFILL = "backfill"
    MANUAL = "manual"  # Synchronize Now, Create New, couple-and-sync
    COUPLING = "coupling"  # match-based coupling
    UNCOUPLING = "uncoupling"


class PendingState(StrEnum):
    PENDING = "pending"  # the create request may or may not have committed
    CONFIRMED = "confirmed"  # the destination record exists and is coupled
    ABANDONED = "abandoned"  # verified that the create never happened


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant in and out; naive datetimes are refused rather than guessed.

    PostgreSQL keeps `timestamptz`; SQLite keeps fixed-width text without zone, which sorts and
    compares chronologically (the watermark's "only forward" update relies on that).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is not UTC:  # the common case skips the conversion: bulk writes bind many
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(
                    f"naive datetime {value.isoformat()} refused: pass a timezone-aware UTC value"
                )
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

# BC's table 5331 "CRM Integration Record": one row per coupled pair of records.
couplings = Table(
    "couplings",
    metadata,
    Column("mapping", String(MAPPING_LENGTH), nullable=False),
    Column("bc_id", String(GUID_LENGTH), nullable=False),  # "Integration ID": the BC record's SystemId
    Column("crm_id", String(GUID_LENGTH), nullable=False),  # "CRM ID"
    Column("bc_synced_on", UtcDateTime()),  # "Last Synch. Modified On"
    Column("crm_synced_on", UtcDateTime()),  # "Last Synch. CRM Modified On"
    Column("to_crm_result", String(10)),  # "Last Synch. CRM Result"
    Column("to_crm_job_id", String(GUID_LENGTH)),  # "Last Synch. CRM Job ID"
    Column("to_crm_error_hash", String(64)),  # hash of the last To failure's message
    Column("to_crm_failures", Integer, nullable=False, server_default=text("0")),  # identical, in a row
    Column("from_crm_result", String(10)),  # "Last Synch. Result"
    Column("from_crm_job_id", String(GUID_LENGTH)),  # "Last Synch. Job ID"
    Column("from_crm_error_hash", String(64)),
    Column("from_crm_failures", Integer, nullable=False, server_default=text("0")),
    Column("skipped", Boolean, nullable=False, server_default=false()),  # "Skipped"
    Column("statistics_uploaded", Boolean, nullable=False, server_default=false()),  # "Statistics Uploaded"
    Column("coupled_by", String(10), nullable=False),
    Column("created_on", UtcDateTime(), nullable=False),
    Column("updated_on", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("mapping", "bc_id", name="pk_couplings"),
    UniqueConstraint("mapping", "crm_id", name="uq_couplings_crm_id"),
)

# The mapping's "Synch. Int. Tbl. Mod. On Fltr." (To) and "Synch. Modified On Filter" (From).
watermarks = Table(
    "watermarks",
    metadata,
    Column("mapping", String(MAPPING_LENGTH), nullable=False),
    Column("direction", String(20), nullable=False),
    Column("modified_on", UtcDateTime(), nullable=False),
    Column("updated_on", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("mapping", "direction", name="pk_watermarks"),
)

# BC's table 5339 "Integration Synch. Job Errors", plus the Airflow task try that logged the error.
record_errors = Table(
    "record_errors",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("job_id", String(GUID_LENGTH)),
    Column("run_id", String(250)),
    Column("task_id", String(250)),
    Column("try_number", Integer),
    Column("mapping", String(MAPPING_LENGTH), nullable=False),
    Column("direction", String(20), nullable=False),
    Column("bc_id", String(GUID_LENGTH)),
    Column("crm_id", String(GUID_LENGTH)),
    Column("bc_number", String(100)),  # the BC record's No./Code, where known
    Column("name", String(250)),  # the record's name as users see it, where known
    Column("message", String(MESSAGE_LENGTH), nullable=False),
    Column("detail", Text),
    Column("logged_on", UtcDateTime(), nullable=False),
    Column("resolved", Boolean, nullable=False, server_default=false()),
    Column("resolved_on", UtcDateTime()),
    Index("ix_record_errors_open", "mapping", "direction", "resolved"),
    Index("ix_record_errors_job", "job_id"),
)

# BC's table 5338 "Integration Synch. Job": one row per direction of a run.
sync_jobs = Table(
    "sync_jobs",
    metadata,
    Column("job_id", String(GUID_LENGTH), primary_key=True),
    Column("mapping", String(MAPPING_LENGTH), nullable=False),
    Column("direction", String(20), nullable=False),
    Column("type", String(12), nullable=False),
    Column("run_id", String(250)),
    Column("started_on", UtcDateTime(), nullable=False),
    Column("finished_on", UtcDateTime()),
    Column("inserted", Integer, nullable=False, server_default=text("0")),
    Column("modified", Integer, nullable=False, server_default=text("0")),
    Column("deleted", Integer, nullable=False, server_default=text("0")),
    Column("unchanged", Integer, nullable=False, server_default=text("0")),
    Column("skipped", Integer, nullable=False, server_default=text("0")),
    Column("failed", Integer, nullable=False, server_default=text("0")),
    Column("coupled", Integer, nullable=False, server_default=text("0")),
    Column("uncoupled", Integer, nullable=False, server_default=text("0")),
    Column("message", Text),
    Index("ix_sync_jobs_mapping_started", "mapping", "started_on"),
)

# The idempotency journal: a create is written here before the request leaves, so a retried task can
# find out whether the service committed it and couple instead of creating a second record.
pending_writes = Table(
    "pending_writes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("mapping", String(MAPPING_LENGTH), nullable=False),
    Column("direction", String(20), nullable=False),
    Column("source_id", String(GUID_LENGTH), nullable=False),
    Column("destination_id", String(GUID_LENGTH)),  # chosen by us where the API accepts client ids
    Column("marker", String(250)),  # what to look the record up by on retry where it does not (BC No.)
    Column("state", String(10), nullable=False),
    Column("job_id", String(GUID_LENGTH)),
    Column("created_on", UtcDateTime(), nullable=False),
    Column("updated_on", UtcDateTime(), nullable=False),
    # At most one open create per source record: a retry reuses it instead of choosing a new id.
    Index(
        "uq_pending_writes_open",
        "mapping",
        "direction",
        "source_id",
        unique=True,
        sqlite_where=text(OPEN_PENDING_WRITE),
        postgresql_where=text(OPEN_PENDING_WRITE),
    ),
)

# Who is synchronizing a mapping now: one run at a time may write its couplings, records and job rows.
job_leases = Table(
    "job_leases",
    metadata,
    Column("mapping", String(MAPPING_LENGTH), nullable=False),
    Column("holder", String(LEASE_HOLDER_LENGTH), nullable=False),  # "<dag_id> run <run_id>"
    Column("acquired_on", UtcDateTime(), nullable=False),
    Column("expires_on", UtcDateTime(), nullable=False),  # moved forward while the holder works
    PrimaryKeyConstraint("mapping", name="pk_job_leases"),
)
