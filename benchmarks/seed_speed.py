"""Seconds to seed N customers (both sides) into a fresh SQLite file; prints rows and rows/s.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/seed_speed.py --customers 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sandbox.bc import tables as bc_tables
from sandbox.dataverse import schema as dataverse_schema
from sandbox.seed import seed
from sandbox.settings import SandboxSettings
from sandbox.storage.database import Database
from sandbox.storage.repository import Repository


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = SandboxSettings(data_dir=Path(directory))
        database = Database(settings.db_url, (*dataverse_schema.SCHEMAS, *bc_tables.SCHEMAS))
        database.create_all()
        started = time.perf_counter()
        summary = seed(Repository(database), settings=settings, customers=args.customers, seed=args.seed)
        seconds = time.perf_counter() - started
        database.dispose()
        size = Path(directory, "sandbox.db").stat().st_size
    rows = sum(summary.bc.values()) + sum(summary.dataverse.values())
    print(summary.describe())
    print(
        f"{args.customers} customers: {rows} rows in {seconds:.1f} s "
        f"({rows / seconds:,.0f} rows/s, database {size / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
