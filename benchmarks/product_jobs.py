"""UNITOFMEASURE, ITEM-PRODUCT and RESOURCE-PRODUCT through the real path: an initial full synchronization
and a no-change run of each, in dependency order, against seeded local services (HTTPS, SQLite store).

Each run goes through `bcsync.pipeline.runner.run_job` in this process (no Airflow around it): wall time,
this process's CPU time (bcsync's code with pandas and the HTTP clients; the services run in their own
process), the HTTP requests the services answered (their admin stats) and the job log counters.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/product_jobs.py [--customers 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from airflow.sdk import ObjectStoragePath

from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.runner import run_job
from bcsync.pipeline.services import Services
from bcsync_dev.sandbox_connections import sandbox_connections
from sandbox.launcher import RunningSandbox, running_sandbox

JOBS = ("UNITOFMEASURE", "ITEM-PRODUCT", "RESOURCE-PRODUCT")
SERVICES = ("bc", "dataverse")
COUNTERS = ("Inserted", "Modified", "Unchanged", "Failed", "Coupled")


def timed_run(
    sandbox: RunningSandbox, services: Services, staging: ObjectStoragePath, job: str, kind: RunKind
):
    """(wall seconds, CPU seconds, requests answered, counters per direction) of one run."""
    for service in SERVICES:
        sandbox.admin(service, "POST", "stats/reset")
    mapping = services.registry.get(job)
    run = RunContext(dag_id=mapping.dag_id, run_id=f"bench_{kind.value}_{time.time_ns()}", kind=kind)
    wall, cpu = time.perf_counter(), time.process_time()
    summary = run_job(job, run, services, staging).summary()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    requests = sum(sandbox.admin(service, "GET", "stats")["total"] for service in SERVICES)
    return wall, cpu, requests, summary["directions"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50, help="customers seeded (default 50)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_products_"))
    try:
        measure(work, options.customers)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(work: Path, customers: int) -> None:
    with running_sandbox(work / "sandbox", seed_customers=customers, timeout=600) as sandbox:
        os.environ.update(sandbox_connections(sandbox))
        os.environ["AIRFLOW_CONN_BCSYNC_STORE"] = f"sqlite:///{work / 'store.db'}"
        services = Services()
        staging = ObjectStoragePath(f"file://{work / 'staging'}")
        print(f"seed: {customers} customers")
        print(f"| job | run | wall s | CPU s | requests | counters ({'/'.join(COUNTERS)}) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for job in JOBS:
            for kind in (RunKind.FULL, RunKind.SCHEDULED):
                wall, cpu, requests, directions = timed_run(sandbox, services, staging, job, kind)
                counters = "; ".join(
                    f"{d}: {'/'.join(str(c[n]) for n in COUNTERS)}" for d, c in directions.items()
                )
                print(f"| {job} | {kind.value} | {wall:.2f} | {cpu:.2f} | {requests} | {counters} |")
        services.store.dispose()


if __name__ == "__main__":
    main()
