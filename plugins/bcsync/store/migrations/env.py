"""Alembic environment: migrates over the connection `upgrade_to_head` hands in (online mode only)."""

from __future__ import annotations

from alembic import context

from bcsync.store.schema import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the store's migrations run through bcsync.store.migrations.upgrade_to_head(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
