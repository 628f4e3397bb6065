"""A throw-away PostgreSQL database per test, created and dropped on the server at 127.0.0.1:5432.

The server is given by BCSYNC_TEST_POSTGRES_URL (default postgresql+psycopg2://postgres@127.0.0.1:5432/postgres);
the tests are skipped, saying why, only when it cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from bcsync.store import CouplingStore

SERVER_URL = os.environ.get(
    "BCSYNC_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, 0, 123000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[sa.Engine]:
    engine = sa.create_engine(make_url(SERVER_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        pytest.skip(f"PostgreSQL at {make_url(SERVER_URL).render_as_string()} is unreachable: {error.orig}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_server: sa.Engine) -> Iterator[URL]:
    """The URL of a new, empty database that is dropped after the test."""
    name = f"bcsync_store_test_{uuid.uuid4().hex[:12]}"
    with postgres_server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield make_url(SERVER_URL).set(database=name)
    with postgres_server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def store(postgres_url: URL, clock: SteppingClock) -> Iterator[CouplingStore]:
    coupling_store = CouplingStore(postgres_url, clock=clock)
    yield coupling_store
    coupling_store.dispose()
