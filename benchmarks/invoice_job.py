"""POSTEDSALESINV-INV (with its lines) through the real path, in-process: wall and CPU time of the
initial full synchronization and of a no-change scheduled run.

Seeds N customers (their invoices come with them) in the local services, fully synchronizes SALESPEOPLE
and CURRENCY (dependencies, not timed), then times the invoice job with `bcsync.pipeline.runner.run_job`
against a SQLite coupling store. The CPU time is this process's (bcsync's code, the hooks, pandas); the
local services run in a process of their own.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/invoice_job.py [--customers 50]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow.sdk import ObjectStoragePath

from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.runner import run_job
from bcsync.pipeline.services import Services
from bcsync_dev.sandbox_connections import sandbox_connections
from sandbox.launcher import running_sandbox

JOB = "POSTEDSALESINV-INV"
POSTED = "status eq 'Open' or status eq 'Paid' or status eq 'Canceled' or status eq 'Corrective'"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50, help="seed size (the sandbox's default: 50)")
    customers = parser.parse_args().customers
    work = Path(tempfile.mkdtemp(prefix="bcsync-invoice-bench-"))
    with running_sandbox(work / "sandbox", seed_customers=customers) as sandbox:
        os.environ.update(sandbox_connections(sandbox))
        os.environ["AIRFLOW_CONN_BCSYNC_STORE"] = f"sqlite:///{work / 'store.db'}"
        os.environ["BCSYNC_STAGING_URL"] = f"file://{work / 'staging'}"
        services = Services()
        staging = ObjectStoragePath(f"file://{work / 'staging'}")
        runs = iter(range(1, 1000))

        def run(job: str, kind: RunKind) -> tuple[float, float, dict[str, Any]]:
            mapping = services.registry.get(job)
            context = RunContext(dag_id=mapping.dag_id or job, run_id=f"bench_{next(runs)}", kind=kind)
            wall, cpu = time.perf_counter(), time.process_time()
            summary = run_job(job, context, services, staging).summary()
            return time.perf_counter() - wall, time.process_time() - cpu, summary["directions"]

        run("SALESPEOPLE", RunKind.FULL)
        run("CURRENCY", RunKind.FULL)
        invoices = sum(len(p) for p in services.bc.iter_pages("salesInvoices", select=["id"], filter=POSTED))
        print(f"seed: {customers} customers, {invoices} posted invoices")
        for label, kind in (
            ("initial full sync", RunKind.FULL),
            ("no-change scheduled run", RunKind.SCHEDULED),
        ):
            wall, cpu, directions = run(JOB, kind)
            counters = {k: v for k, v in directions["ToIntegrationTable"].items() if v and k != "status"}
            print(f"{label}: wall {wall:.2f} s, bcsync process CPU {cpu:.2f} s, counters {counters}")
        print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        services.store.dispose()


if __name__ == "__main__":
    main()
