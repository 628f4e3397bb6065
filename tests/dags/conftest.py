"""The dags tier's fixtures: Airflow's metadata database migrated once per session, copied per test.

`airflow db migrate` of an empty SQLite database takes 5-7 s (a fresh interpreter importing Airflow, then
every migration); a copy of the migrated file takes milliseconds and gives the same database.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from bcsync_dev.local_runs import airflow_settings
from bcsync_dev.local_runs import migrate_airflow_db as run_airflow_db_migrate

Migrate = Callable[[dict[str, str], Path], None]


@pytest.fixture(scope="session")
def migrated_airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite metadata database after `airflow db migrate`, with the settings the tests use."""
    home = tmp_path_factory.mktemp("airflow-db") / "airflow"
    home.mkdir()
    run_airflow_db_migrate(airflow_settings(home), home.parent / "migrate.log")
    return home / "airflow.db"


@pytest.fixture
def migrate_airflow_db(migrated_airflow_db: Path) -> Migrate:
    """`bcsync_dev.local_runs.migrate_airflow_db(env, log_file)`, from the session's migrated copy.

    An environment naming its own metadata database (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN) is migrated
    for real."""

    def migrate(env: dict[str, str], log_file: Path) -> None:
        if {**os.environ, **env}.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
            run_airflow_db_migrate(env, log_file)
            return
        target = Path(env["AIRFLOW_HOME"]) / "airflow.db"
        # SQLite's backup API: a consistent copy even if the template still has a WAL file beside it.
        with closing(sqlite3.connect(migrated_airflow_db)) as source, closing(sqlite3.connect(target)) as db:
            source.backup(db)
        log_file.write_text(f"copied from {migrated_airflow_db} (migrated once per test session)\n")

    return migrate
