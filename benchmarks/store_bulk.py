"""Coupling-store bulk throughput: couple, read back and record results for N records (default 100,000).

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/store_bulk.py [--records N] [--url URL]

Without --url a fresh SQLite file in a temporary directory is used; a PostgreSQL URL must name an
empty (throw-away) database. Prints rows per second for each step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bcsync.store import CouplingStore, Direction


def timed(label: str, rows: int, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    print(f"{label:<34} {rows:>9,} rows {seconds:>8.2f} s {rows / seconds:>12,.0f} rows/s")
    return result


def run(store: CouplingStore, records: int) -> None:
    bc = [str(uuid.uuid4()) for _ in range(records)]
    crm = [str(uuid.uuid4()) for _ in range(records)]
    modified = datetime.now(UTC)
    store.jobs()  # migrate before timing
    pairs = pd.DataFrame({"bc_id": bc, "crm_id": crm})
    timed("couple (new pairs)", records, lambda: store.couple("CUSTOMER", pairs, coupled_by="create"))
    timed("couple (all already coupled)", records, lambda: store.couple("CUSTOMER", pairs))
    timed("couplings (read all)", records, lambda: store.couplings("CUSTOMER"))
    timed("couplings_for (by BC id)", records, lambda: store.couplings_for("CUSTOMER", bc_ids=bc))
    success = pd.DataFrame(
        {"bc_id": bc, "result": "Success", "bc_modified_on": modified, "crm_modified_on": modified}
    )
    timed(
        "record_sync_results (successes)",
        records,
        lambda: store.record_sync_results("CUSTOMER", Direction.TO_CRM, success),
    )
    failure = pd.DataFrame({"bc_id": bc, "result": "Failure", "message": "Currency EUR must be coupled."})
    timed(
        "record_sync_results (failures)",
        records,
        lambda: store.record_sync_results("CUSTOMER", Direction.TO_CRM, failure),
    )
    timed("failed_last_time", records, lambda: store.failed_last_time("CUSTOMER", Direction.TO_CRM))
    pending = pd.DataFrame({"source_id": bc, "destination_id": crm})
    timed("record_pending", records, lambda: store.record_pending("CUSTOMER", Direction.TO_CRM, pending))
    timed("confirm", records, lambda: store.confirm("CUSTOMER", Direction.TO_CRM, bc))
    timed("uncouple", records, lambda: store.uncouple("CUSTOMER", bc_ids=bc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--url", help="store URL (default: a new SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = options.url or f"sqlite:///{Path(directory) / 'store.db'}"
        store = CouplingStore(url)
        print(f"{store.engine.dialect.name}: {options.records:,} records")
        try:
            run(store, options.records)
        finally:
            store.dispose()


if __name__ == "__main__":
    main()
