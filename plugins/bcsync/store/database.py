"""Engines for the coupling store: SQLite (WAL, busy timeout, serialised writers) or PostgreSQL.

Also turns the Airflow Connection `bcsync_store` into a SQLAlchemy URL.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import ColumnElement

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "bcsync_store"
SQLITE_BUSY_TIMEOUT_SECONDS = 60
# SQLite's page cache per connection, KiB (its default is 2 MB). Couplings are keyed by random GUIDs,
# so a bulk insert touches index pages all over the file: with 2 MB they are read again and again,
# and inserting 200,000 couplings into a table of 400,000 took twice the CPU. Pages are cached as they
# are read, up to this bound.
SQLITE_CACHE_KIB = 64 * 1024
_READ_ONLY = "bcsync_read_only"
_POSTGRES_TYPES = frozenset({"postgres", "postgresql", "postgresql+psycopg2"})


class StoreConfigurationError(ValueError):
    """The store's connection settings cannot be turned into a database URL."""


def url_from_connection(conn: Any) -> URL:
    """A SQLAlchemy URL from an Airflow Connection (`conn_type` sqlite or postgres).

    SQLite: the absolute file path is the URI's path (`sqlite:////abs/path/store.db`, which Airflow
    parses into `schema`) or `host`. PostgreSQL: host, port, schema (= database), login, password;
    extras become query parameters (e.g. `sslmode`).
    """
    conn_type = (conn.conn_type or "").lower()
    extras = {key: str(value) for key, value in (conn.extra_dejson or {}).items()}
    if conn_type == "sqlite":
        path = conn.host or conn.schema
        if not path or not Path(path).is_absolute():
            raise StoreConfigurationError(
                f"connection {conn.conn_id!r}: SQLite needs an absolute file path, "
                f"e.g. sqlite:////var/lib/bcsync/store.db (got {path!r})"
            )
        return URL.create("sqlite", database=path, query=extras)
    if conn_type in _POSTGRES_TYPES:
        if not conn.host or not conn.schema:
            raise StoreConfigurationError(
                f"connection {conn.conn_id!r}: PostgreSQL needs a host and a database "
                "(postgresql://user:password@host:5432/database)"
            )
        return URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host,
            port=conn.port or None,
            database=conn.schema,
            query=extras,
        )
    raise StoreConfigurationError(
        f"connection {conn.conn_id!r}: conn_type {conn.conn_type!r} is not supported by the coupling store; "
        "use sqlite or postgres"
    )


def default_sqlite_url() -> URL:
    """The embedded default when no `bcsync_store` connection is defined: a file under AIRFLOW_HOME."""
    airflow_home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    return URL.create("sqlite", database=str(airflow_home / "bcsync" / "store.db"))


def create_store_engine(url: str | URL) -> Engine:
    """An engine tuned for the store's workload: many parallel tasks, bulk statements, short transactions."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg2")
        return create_engine(url, pool_pre_ping=True)
    raise StoreConfigurationError(
        f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql"
    )


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    if not in_memory:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        poolclass=StaticPool if in_memory else None,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by us (below), not by the driver, so DDL is transactional too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the lock up front: a deferred transaction that upgrades from read to write
        # fails at once with SQLITE_BUSY instead of waiting for the busy timeout.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode=WAL`, waiting out other connections doing the same on a new file.

    SQLite answers that switch with "database is locked" at once, without its busy handler, while
    another connection holds a lock: processes opening a fresh store together would fail.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    delay = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that writes: committed on success, rolled back on any exception."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """One consistent snapshot for reading; never blocks writers on SQLite (WAL)."""
    with engine.connect() as conn, conn.execution_options(**{_READ_ONLY: True}).begin():
        yield conn


def lock_mapping(conn: Connection, mapping: str) -> None:
    """Serialise coupling writers of one mapping until the transaction ends.

    SQLite writers are already serialised by BEGIN IMMEDIATE; PostgreSQL takes an advisory lock so two
    tasks cannot both couple the same record between their check and their insert.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"bcsync.couplings.{mapping}"}
        )


def one_of(conn: Connection, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """`column IN (values)`. On SQLite the values go as one JSON parameter read by `json_each`:
    SQLAlchemy renders a bind parameter per value of an IN list, which cost more CPU than the query
    at thousands of ids. Other databases keep the IN list."""
    if conn.dialect.name != "sqlite":
        return column.in_(values)
    listed = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(listed.c.value))


def dialect_insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows `ON CONFLICT` on both supported databases (same API on each)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
