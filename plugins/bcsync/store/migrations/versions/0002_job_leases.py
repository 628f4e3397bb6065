"""Job leases: one run at a time may synchronize a mapping.

Revision ID: 0002_job_leases
Revises: 0001_initial
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_job_leases"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("mapping", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(500), nullable=False),
        sa.Column("acquired_on", TIMESTAMP, nullable=False),
        sa.Column("expires_on", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("mapping", name="pk_job_leases"),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
