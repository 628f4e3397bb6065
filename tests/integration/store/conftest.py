"""A throw-away PostgreSQL database per test, created and dropped on the server at 127.0.0.1:5432.

The server is given by BCSYNC_TEST_POSTGRES_URL (default postgresql+psycopg2://postgres@127.0.0.1:5432/postgres);
the tests are skipped, saying why, only when it cannot be reached.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import URL

from bcsync.store import CouplingStore
from bcsync_dev.local_postgres import DEFAULT_SERVER_URL, reachable, throwaway_database

SERVER_URL = os.environ.get("BCSYNC_TEST_POSTGRES_URL", DEFAULT_SERVER_URL)


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, 0, 123000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    unreachable = reachable(SERVER_URL)
    if unreachable:
        pytest.skip(unreachable)
    return SERVER_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[URL]:
    """The URL of a new, empty database that is dropped after the test."""
    with throwaway_database(postgres_server, "bcsync_store_test") as url:
        yield url


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def store(postgres_url: URL, clock: SteppingClock) -> Iterator[CouplingStore]:
    coupling_store = CouplingStore(postgres_url, clock=clock)
    yield coupling_store
    coupling_store.dispose()
