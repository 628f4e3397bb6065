"""Schema migrations: a fresh database reaches head, re-running is a no-op, new revisions apply in order."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bcsync.store import CouplingStore, create_store_engine, current_revision, head_revision, upgrade_to_head
from bcsync.store.migrations import MIGRATIONS_DIR
from bcsync.store.schema import VERSION_TABLE, metadata

STORE_TABLES = {"couplings", "watermarks", "record_errors", "sync_jobs", "pending_writes", "job_leases"}

SECOND_REVISION = '''"""Test-only revision: adds a table.

Revision ID: 9999_test
Revises: {head}
"""

import sqlalchemy as sa
from alembic import op

revision = "9999_test"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("mapping_notes", sa.Column("mapping", sa.String(100), primary_key=True))


def downgrade() -> None:
    op.drop_table("mapping_notes")
'''


@pytest.fixture
def engine(store_url: str):
    engine = create_store_engine(store_url)
    yield engine
    engine.dispose()


def _ddl_statements(engine: sa.Engine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_fresh_database_is_migrated_to_head_and_records_the_version(engine: sa.Engine) -> None:
    assert current_revision(engine) is None

    assert upgrade_to_head(engine) == head_revision()

    assert current_revision(engine) == head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert STORE_TABLES | {VERSION_TABLE} <= tables
    assert "alembic_version" not in tables  # the store can share a database with Airflow's own


def test_second_upgrade_runs_no_ddl(engine: sa.Engine) -> None:
    upgrade_to_head(engine)
    statements = _ddl_statements(engine)

    upgrade_to_head(engine)

    assert not [sql for sql in statements if sql.lstrip().upper().startswith(("CREATE", "ALTER", "DROP"))]
    assert current_revision(engine) == head_revision()


def test_migrated_schema_matches_the_table_definitions(engine: sa.Engine) -> None:
    upgrade_to_head(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []


def test_a_new_revision_is_applied_on_top_and_keeps_the_data(engine: sa.Engine, tmp_path: Path) -> None:
    upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sync_jobs (job_id, mapping, direction, type, started_on) "
                "VALUES ('j1', 'CUSTOMER', 'ToIntegrationTable', 'scheduled', '2026-01-01')"
            )
        )
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_test.py").write_text(SECOND_REVISION.replace("{head}", head_revision()))

    assert upgrade_to_head(engine, scripts) == "9999_test"

    assert current_revision(engine) == "9999_test"
    assert "mapping_notes" in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT job_id FROM sync_jobs")).scalars().all() == ["j1"]


def test_processes_starting_together_migrate_once(store_url: str) -> None:
    engines = [create_store_engine(store_url) for _ in range(4)]
    failures: list[BaseException] = []

    def start(engine: sa.Engine) -> None:
        try:
            upgrade_to_head(engine)
        except BaseException as error:  # reported below, with the thread's error
            failures.append(error)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert current_revision(engines[0]) == head_revision()
    for engine in engines:
        engine.dispose()


def test_constructing_a_store_touches_no_database_until_first_use(tmp_path: Path) -> None:
    path = tmp_path / "lazy" / "store.db"
    store = CouplingStore(f"sqlite:///{path}")
    assert not path.exists()

    assert store.jobs().empty

    assert current_revision(store.engine) == head_revision()
    store.dispose()
