"""Initial store: couplings, watermarks, record errors, sync jobs and the pending-writes journal.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

GUID = sa.String(36)
MAPPING = sa.String(100)
TIMESTAMP = sa.DateTime(timezone=True)
ROW_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


def upgrade() -> None:
    op.create_table(
        "couplings",
        sa.Column("mapping", MAPPING, nullable=False),
        sa.Column("bc_id", GUID, nullable=False),
        sa.Column("crm_id", GUID, nullable=False),
        sa.Column("bc_synced_on", TIMESTAMP),
        sa.Column("crm_synced_on", TIMESTAMP),
        sa.Column("to_crm_result", sa.String(10)),
        sa.Column("to_crm_job_id", GUID),
        sa.Column("to_crm_error_hash", sa.String(64)),
        sa.Column("to_crm_failures", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("from_crm_result", sa.String(10)),
        sa.Column("from_crm_job_id", GUID),
        sa.Column("from_crm_error_hash", sa.String(64)),
        sa.Column("from_crm_failures", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("skipped", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("statistics_uploaded", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("coupled_by", sa.String(10), nullable=False),
        sa.Column("created_on", TIMESTAMP, nullable=False),
        sa.Column("updated_on", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("mapping", "bc_id", name="pk_couplings"),
        sa.UniqueConstraint("mapping", "crm_id", name="uq_couplings_crm_id"),
    )
    op.create_table(
        "watermarks",
        sa.Column("mapping", MAPPING, nullable=False),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("modified_on", TIMESTAMP, nullable=False),
        sa.Column("updated_on", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("mapping", "direction", name="pk_watermarks"),
    )
    op.create_table(
        "record_errors",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("job_id", GUID),
        sa.Column("run_id", sa.String(250)),
        sa.Column("task_id", sa.String(250)),
        sa.Column("try_number", sa.Integer),
        sa.Column("mapping", MAPPING, nullable=False),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("bc_id", GUID),
        sa.Column("crm_id", GUID),
        sa.Column("bc_number", sa.String(100)),
        sa.Column("name", sa.String(250)),
        sa.Column("message", sa.String(250), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("logged_on", TIMESTAMP, nullable=False),
        sa.Column("resolved", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("resolved_on", TIMESTAMP),
    )
    op.create_index("ix_record_errors_open", "record_errors", ["mapping", "direction", "resolved"])
    op.create_index("ix_record_errors_job", "record_errors", ["job_id"])
    op.create_table(
        "sync_jobs",
        sa.Column("job_id", GUID, primary_key=True),
        sa.Column("mapping", MAPPING, nullable=False),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("type", sa.String(12), nullable=False),
        sa.Column("run_id", sa.String(250)),
        sa.Column("started_on", TIMESTAMP, nullable=False),
        sa.Column("finished_on", TIMESTAMP),
        *(
            sa.Column(counter, sa.Integer, nullable=False, server_default=sa.text("0"))
            for counter in (
                "inserted",
                "modified",
                "deleted",
                "unchanged",
                "skipped",
                "failed",
                "coupled",
                "uncoupled",
            )
        ),
        sa.Column("message", sa.Text),
    )
    op.create_index("ix_sync_jobs_mapping_started", "sync_jobs", ["mapping", "started_on"])
    op.create_table(
        "pending_writes",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("mapping", MAPPING, nullable=False),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("source_id", GUID, nullable=False),
        sa.Column("destination_id", GUID),
        sa.Column("marker", sa.String(250)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("job_id", GUID),
        sa.Column("created_on", TIMESTAMP, nullable=False),
        sa.Column("updated_on", TIMESTAMP, nullable=False),
    )
    op.create_index(
        "uq_pending_writes_open",
        "pending_writes",
        ["mapping", "direction", "source_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("pending_writes")
    op.drop_table("sync_jobs")
    op.drop_table("record_errors")
    op.drop_table("watermarks")
    op.drop_table("couplings")
