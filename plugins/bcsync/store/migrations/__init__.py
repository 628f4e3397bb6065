"""Versioned schema migrations of the coupling store, run by Alembic from code (no alembic.ini).

`upgrade_to_head(engine)` brings any store database to the newest revision; it is cheap and safe to
call on every start, from several processes at once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from bcsync.store.database import write_transaction
from bcsync.store.schema import VERSION_TABLE

MIGRATIONS_DIR = Path(__file__).parent
# Any constant works: it only has to be the same for every process migrating the same database.
_POSTGRES_MIGRATION_LOCK = 0x6263_7379_6E63  # "bcsync"


def alembic_config(connection: Connection | None = None, scripts: Path = MIGRATIONS_DIR) -> Config:
    """An Alembic configuration for the store's scripts; `env.py` migrates over `connection`."""
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.attributes["connection"] = connection
    return config


def head_revision(scripts: Path = MIGRATIONS_DIR) -> str:
    head = ScriptDirectory.from_config(alembic_config(scripts=scripts)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts under {scripts / 'versions'}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database the store has never touched."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade_to_head(engine: Engine, scripts: Path = MIGRATIONS_DIR) -> str:
    """Apply every migration the database lacks, in one transaction; returns the head revision.

    A database already at head costs one query. Concurrent callers are serialised (SQLite: the
    write lock taken by BEGIN IMMEDIATE; PostgreSQL: an advisory lock), and the loser then finds
    the database at head and does nothing. `scripts` is the migrations directory (tests point it
    at a copy with an extra revision).
    """
    head = head_revision(scripts)
    if current_revision(engine) == head:
        return head
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_MIGRATION_LOCK})
        command.upgrade(alembic_config(conn, scripts), "head")
    return head
