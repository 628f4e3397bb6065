"""Fixtures for the client unit tests: a scripted wire and hooks built from real Airflow Connections."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from client_connections import bc_connection, dataverse_connection
from wire_fake import FakeWire

from bcsync.hooks import BusinessCentralHook, DataverseHook


@pytest.fixture
def wire() -> Iterator[FakeWire]:
    fake = FakeWire()
    yield fake
    fake.verify()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def dataverse(wire: FakeWire, sleeps: list[float]) -> DataverseHook:
    wire.serve_entra()
    return DataverseHook.from_connection(dataverse_connection(), adapter=wire, sleep=sleeps.append)


@pytest.fixture
def bc(wire: FakeWire, sleeps: list[float]) -> BusinessCentralHook:
    wire.serve_entra()
    return BusinessCentralHook.from_connection(bc_connection(), adapter=wire, sleep=sleeps.append)
