"""Fixtures for the sandbox storage and OData tests: an in-memory database of the test schemas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_test_schemas import ACCOUNT, CUSTOMER, SteppingClock

from sandbox.storage.database import Database
from sandbox.storage.repository import Repository


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def database() -> Iterator[Database]:
    db = Database("sqlite://", [ACCOUNT, CUSTOMER])
    db.create_all()
    yield db
    db.dispose()


@pytest.fixture
def repository(database: Database, clock: SteppingClock) -> Repository:
    return Repository(database, clock=clock)
