"""Databases on a local PostgreSQL server for `make airflow` and the tests: created when missing,
dropped when thrown away.

Airflow's metadata database belongs on PostgreSQL as soon as the scheduler, the API server and task
processes write at once: on SQLite one writer at a time makes API calls fail with "Database error", and
Airflow refuses to create backfills there under concurrent access.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

# The local server with trust auth, as on the project's machines; the tests' default server.
DEFAULT_SERVER_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
# The database every PostgreSQL server has; CREATE/DROP DATABASE cannot run inside the target itself.
MAINTENANCE_DATABASE = "postgres"
# Database names are put into CREATE/DROP statements, which take no bind parameters.
SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,62}")


def is_postgres(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def with_installed_driver(url: str | URL) -> URL:
    """`postgresql://…` with the driver bcsync installs (psycopg2): SQLAlchemy 2.1 would pick psycopg 3."""
    url = make_url(url)
    return url.set(drivername="postgresql+psycopg2") if url.drivername == "postgresql" else url


@contextlib.contextmanager
def _server(url: str | URL) -> Iterator[sa.Connection]:
    engine = sa.create_engine(
        with_installed_driver(url).set(database=MAINTENANCE_DATABASE),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.NullPool,
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def reachable(url: str | URL) -> str | None:
    """None when the server of `url` answers, else why not (for a skip or an error message)."""
    try:
        with _server(url) as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        server = make_url(url).set(database=None).render_as_string()
        return f"PostgreSQL at {server} is unreachable: {error.orig}"
    return None


def _database_name(url: str | URL) -> str:
    name = make_url(url).database or ""
    if not SAFE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r}: use letters, digits, '_' and '-' (at most 63)")
    return name


def ensure_database(url: str | URL) -> bool:
    """Creates the database of `url` unless it exists; returns whether it was created."""
    name = _database_name(url)
    with _server(url) as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return not exists


def drop_database(url: str | URL) -> None:
    """Drops the database of `url`, closing its remaining sessions (PostgreSQL 13+)."""
    with _server(url) as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)'))


@contextlib.contextmanager
def throwaway_database(server_url: str | URL, prefix: str) -> Iterator[URL]:
    """A new, empty database named `<prefix>_<random>` on the server of `server_url`, dropped after."""
    url = make_url(server_url).set(database=f"{prefix}_{uuid.uuid4().hex[:12]}")
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)
