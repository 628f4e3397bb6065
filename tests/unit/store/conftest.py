"""A coupling store on a fresh SQLite file per test, with a clock the test moves by hand."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bcsync.store import CouplingStore


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, 0, 123000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def store(store_url: str, clock: SteppingClock) -> Iterator[CouplingStore]:
    coupling_store = CouplingStore(store_url, clock=clock)
    yield coupling_store
    coupling_store.dispose()


@pytest.fixture
def new_ids() -> Callable[[int], list[str]]:
    """`new_ids(n)`: n fresh GUID strings."""
    return lambda count: [str(uuid.uuid4()) for _ in range(count)]
