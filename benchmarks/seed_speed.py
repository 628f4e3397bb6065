"""Seconds to seed N customers (both sides) into a fresh SQLite file; prints rows and rows/s.

From 20,000 customers the rows are generated in a child process; the CPU time printed is the
writing process's alone, a floor for the wall time on a machine with two idle cores.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/seed_speed.py --customers 100000
"""

from __future__ import annotations

import argparse
import resource
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
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = seed(Repository(database), settings=settings, customers=args.customers, seed=args.seed)
        seconds, writer_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        database.dispose()
        size = Path(directory, "sandbox.db").stat().st_size
    rows = sum(summary.bc.values()) + sum(summary.dataverse.values())
    print(summary.describe())
    print(
        f"{args.customers} customers: {rows} rows in {seconds:.1f} s "
        f"({rows / seconds:,.0f} rows/s, database {size / 2**20:.0f} MiB); "
        f"CPU of this (writing) process {writer_cpu:.1f} s"
    )
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"peak memory of one process: {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
