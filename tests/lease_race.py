"""Runs racing for one job's lease in the coupling store: the shared body of the SQLite and PostgreSQL
race tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

from bcsync.store import CouplingStore, LeaseHeldError

NO_WAIT = timedelta(0)


def race_for_lease(stores: Sequence[CouplingStore], mapping: str = "CUSTOMER") -> tuple[list[str], list[str]]:
    """Each store (a separate connection pool, as separate runs have) tries to take the lease at the
    same moment; returns the holders that won and the holders the losers were told of. Disposes the
    stores."""
    start = threading.Barrier(len(stores))
    winners: list[str] = []
    told: list[str] = []

    def race(store: CouplingStore, holder: str) -> None:
        start.wait()
        try:
            winners.append(store.acquire_lease(mapping, holder, wait=NO_WAIT).holder)
        except LeaseHeldError as refused:
            told.append(refused.lease.holder)

    threads = [
        threading.Thread(target=race, args=(store, f"bcsync_customer run {n}"))
        for n, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.dispose()
    return winners, told
