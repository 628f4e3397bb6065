"""The local PostgreSQL helpers behind `make airflow --metadata-db` and the throw-away test databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bcsync_dev.local_postgres import (
    drop_database,
    ensure_database,
    reachable,
    throwaway_database,
    with_installed_driver,
)

pytestmark = pytest.mark.postgres


def _exists(server_url: str, name: str) -> bool:
    engine = sa.create_engine(with_installed_driver(server_url), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
    finally:
        engine.dispose()
    return found is not None


def test_ensure_database_creates_once_and_drop_removes_it(postgres_server: str) -> None:
    with throwaway_database(postgres_server, "bcsync_helper_test") as url:
        name = url.database
        drop_database(url)
        assert not _exists(postgres_server, name)
        assert ensure_database(url) is True
        assert ensure_database(url) is False  # already there: left alone
        assert _exists(postgres_server, name)
    assert not _exists(postgres_server, name)


def test_a_database_in_use_is_dropped_with_its_sessions(postgres_server: str) -> None:
    with throwaway_database(postgres_server, "bcsync_helper_test") as url:
        engine = sa.create_engine(url)
        connection = engine.connect()  # an Airflow process that was not stopped cleanly
        connection.execute(sa.text("SELECT 1"))
    assert not _exists(postgres_server, url.database)
    connection.invalidate()
    engine.dispose()


def test_plain_postgresql_urls_get_the_installed_driver() -> None:
    # SQLAlchemy 2.1 would load psycopg 3 for postgresql://, which bcsync does not install.
    assert with_installed_driver("postgresql://u@h/db").drivername == "postgresql+psycopg2"
    assert with_installed_driver("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"
    assert with_installed_driver("sqlite:////tmp/x.db").drivername == "sqlite"


@pytest.mark.parametrize("name", ['x"; DROP DATABASE postgres; --', "1starts_with_digit", "", "a" * 64])
def test_unsafe_database_names_are_refused(name: str) -> None:
    url = make_url("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres").set(database=name)
    with pytest.raises(ValueError, match="database name"):
        ensure_database(url)


def test_an_unreachable_server_is_explained() -> None:
    reason = reachable("postgresql://postgres@127.0.0.1:1/postgres")
    assert reason is not None and "127.0.0.1:1" in reason and "unreachable" in reason
