"""Coupling-store contents that the operator-facing tests (the CLI, the UI pages) build their
scenarios from: a stepping clock, coupled customers and per-record error rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bcsync.store import CouplingStore, Direction

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    """The store's clock, moved on by hand from T0."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def coupled_customers(store: CouplingStore, count: int) -> tuple[list[str], list[str]]:
    """Couples `count` CUSTOMER pairs; returns their BC and Dataverse ids, pair i at index i."""
    bc = [f"0000000{i}-0000-4000-8000-00000000000b" for i in range(count)]
    crm = [f"0000000{i}-0000-4000-8000-0000000000c0" for i in range(count)]
    store.couple("CUSTOMER", [{"bc_id": b, "crm_id": c} for b, c in zip(bc, crm, strict=True)])
    return bc, crm


def customer_error(
    direction: Direction,
    job_id: str,
    run_id: str,
    task_id: str,
    message: str,
    *,
    try_number: int,
    **ids: str,
) -> dict[str, Any]:
    """A CUSTOMER record's error row, as a load task writes it."""
    return {
        "mapping": "CUSTOMER",
        "direction": direction,
        "job_id": job_id,
        "run_id": run_id,
        "task_id": task_id,
        "try_number": try_number,
        "message": message,
        **ids,
    }
