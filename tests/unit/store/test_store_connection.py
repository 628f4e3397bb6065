"""Reaching the store through the Airflow Connection `bcsync_store`."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from bcsync.store import CouplingStore, StoreConfigurationError, url_from_connection


def test_a_sqlite_connection_uri_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    conn = Connection.from_uri(f"sqlite:///{path}", conn_id="bcsync_store")

    url = url_from_connection(conn)

    assert (url.drivername, url.database) == ("sqlite", str(path))


def test_a_postgres_connection_maps_host_port_database_login_and_extras() -> None:
    conn = Connection(
        conn_id="bcsync_store",
        conn_type="postgres",
        host="db.internal",
        port=6432,
        schema="bcsync",
        login="sync",
        password="s3cret",
        extra='{"sslmode": "require"}',
    )

    url = url_from_connection(conn)

    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port, url.database, url.username, url.password) == (
        "db.internal",
        6432,
        "bcsync",
        "sync",
        "s3cret",
    )
    assert url.query == {"sslmode": "require"}
    assert "s3cret" not in repr(url)


@pytest.mark.parametrize(
    ("conn", "complaint"),
    [
        (Connection(conn_id="bcsync_store", conn_type="sqlite", host="store.db"), "absolute file path"),
        (Connection(conn_id="bcsync_store", conn_type="postgres", host="db"), "database"),
        (Connection(conn_id="bcsync_store", conn_type="mysql", host="db", schema="x"), "not supported"),
    ],
)
def test_unusable_connections_are_refused_with_the_reason(conn: Connection, complaint: str) -> None:
    with pytest.raises(StoreConfigurationError, match=complaint):
        url_from_connection(conn)


def test_from_connection_reads_the_airflow_connection_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "from-env" / "store.db"
    monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STORE", f"sqlite:///{path}")

    store = CouplingStore.from_connection()
    store.start_job("CUSTOMER", "ToIntegrationTable")

    assert path.exists()
    assert len(store.jobs()) == 1
    store.dispose()


def test_without_the_connection_the_embedded_sqlite_file_under_airflow_home_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_BCSYNC_STORE", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))

    store = CouplingStore.from_connection()

    assert store.engine.url.database == str(tmp_path / "bcsync" / "store.db")
    store.dispose()


def test_a_named_connection_that_does_not_exist_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_OTHER_STORE", raising=False)
    with pytest.raises(AirflowNotFoundException, match="other_store"):
        CouplingStore.from_connection("other_store")


def test_a_sqlite_store_connection_waits_for_writers_and_caches_enough_pages(tmp_path: Path) -> None:
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
        # Not SQLite's 2 MB: GUID-keyed bulk inserts would read index pages again and again.
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -64 * 1024  # KiB
    store.dispose()
