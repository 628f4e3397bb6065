"""Every enabled job's figures on a seeded company, then the whole initial load in BC's dependency waves.

Seeds N customers (the seed makes items, prices, invoices… in proportion) in local services started
for the run (HTTPS, SQLite), and a SQLite coupling store. The jobs are the registry's enabled ones, in
dependency order, so a job enabled later is measured without a change here.

1. Per job, an initial full synchronization and then a no-change (scheduled) run, each through
   `bcsync.pipeline.runner.run_job` (every step, no Airflow around it) in a fresh process of its own,
   as an Airflow task runs: wall time and CPU time of `run_job` in that process (bcsync's code with
   pandas and the HTTP clients; the services run in their own process), its peak RSS (imports
   included), the HTTP requests both services answered (their admin stats) per 1,000 records written
   (inserted + modified + deleted), and the job's counters. A follow-up a job runs (a price group's
   prices) counts in that job's run.
2. The initial load again on a fresh seed and store: `Registry.dependency_waves()`'s waves one after
   the other, the jobs of a wave in parallel processes (as `bcsync_full_sync` triggers them): wall time
   per wave (process start included) and in all.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/job_figures.py [--customers 10000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICES = ("bc", "dataverse")
COUNTERS = ("Inserted", "Modified", "Deleted", "Unchanged", "Skipped", "Failed", "Coupled")
WRITTEN = ("Inserted", "Modified", "Deleted")
SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter per run: its own peak RSS


@dataclass(frozen=True)
class RunFigures:
    job: str
    kind: str
    wall: float  # seconds in run_job
    cpu: float  # CPU seconds of the run's process in run_job
    peak_rss_mib: float
    counters: dict[str, dict[str, Any]]  # per direction

    @property
    def written(self) -> int:
        return sum(int(c.get(name, 0)) for c in self.counters.values() for name in WRITTEN)


def run_in_this_process(job: str, kind: str, work: str) -> RunFigures:
    """One run of `job` (in the worker process): its figures. Its log goes to `work`/logs, so that
    each failed record's line does not drown the table."""
    logs = Path(work) / "logs"
    logs.mkdir(exist_ok=True)
    with (logs / f"{job}_{kind}_{os.getpid()}.log").open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    from airflow.sdk import ObjectStoragePath

    from bcsync.pipeline.context import RunContext, RunKind
    from bcsync.pipeline.runner import run_job
    from bcsync.pipeline.services import Services

    services = Services()
    try:
        mapping = services.registry.get(job)
        run = RunContext(dag_id=mapping.dag_id, run_id=f"bench_{kind}_{time.time_ns()}", kind=RunKind(kind))
        wall, cpu = time.perf_counter(), time.process_time()
        summary = run_job(job, run, services, ObjectStoragePath(f"file://{work}/staging")).summary()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        counters = {**summary["directions"], **follow_ups(services, mapping.name, run.run_id)}
    finally:
        services.store.dispose()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a spawned child would report at
    # least its parent's size.
    from bcsync.process_memory import peak_rss_mb

    return RunFigures(job, kind, wall, cpu, peak_rss_mb() or 0.0, counters)


def follow_ups(services: Any, job: str, run_id: str) -> dict[str, dict[str, int]]:
    """The counters of the jobs a run's follow-ups logged (another mapping, the same run id)."""
    logged = services.store.jobs(limit=100)
    theirs = logged[(logged["run_id"] == run_id) & (logged["mapping"] != job)]
    return {
        f"follow-up {row['mapping']} {row['direction']}": {name: int(row[name.lower()]) for name in COUNTERS}
        for _, row in theirs.iterrows()
    }


def run_apart(runs: list[tuple[str, str]], work: Path) -> list[RunFigures]:
    """Each (job, run kind) in a process of its own, all at once."""
    with ProcessPoolExecutor(len(runs), mp_context=SPAWN, max_tasks_per_child=1) as pool:
        futures = [pool.submit(run_in_this_process, job, kind, str(work)) for job, kind in runs]
        return [future.result() for future in futures]


def enabled_waves() -> list[list[str]]:
    """BC's dependency waves of the enabled jobs (a disabled job's wave keeps the others' order)."""
    from bcsync.registry.loader import load_registry

    waves = load_registry().dependency_waves()
    named = [[m.name for m in wave if m.enabled and m.dag_id] for wave in waves]
    return [wave for wave in named if wave]


def requests_answered(sandbox: Any) -> int:
    return sum(sandbox.admin(service, "GET", "stats")["total"] for service in SERVICES)


def started_services(work: Path, customers: int, timeout: float) -> Any:
    """Seeded local services, and the environment pointing bcsync (and the worker processes) at them."""
    from bcsync_dev.sandbox_connections import sandbox_connections
    from sandbox.launcher import start_sandbox

    seeding = time.perf_counter()
    sandbox = start_sandbox(work / "sandbox", seed_customers=customers, timeout=timeout)
    print(f"seed: {customers} customers, services up in {time.perf_counter() - seeding:.1f} s")
    os.environ.update(sandbox_connections(sandbox))
    os.environ["AIRFLOW_CONN_BCSYNC_STORE"] = f"sqlite:///{work / 'store.db'}"
    return sandbox


def per_job_figures(work: Path, customers: int, timeout: float, waves: list[list[str]]) -> None:
    sandbox = started_services(work, customers, timeout)
    try:
        print()
        print(
            "| job | run | wall s | CPU s | peak RSS MiB | requests | written | requests/1,000 written |"
            f" counters per direction ({'/'.join(COUNTERS)}) |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for job in (job for wave in waves for job in wave):
            for kind in ("full", "scheduled"):
                for service in SERVICES:
                    sandbox.admin(service, "POST", "stats/reset")
                [figures] = run_apart([(job, kind)], work)
                print_row(figures, requests_answered(sandbox))
    finally:
        sandbox.stop()


def print_row(figures: RunFigures, requests: int) -> None:
    per_thousand = f"{requests * 1000 / figures.written:.0f}" if figures.written else "–"
    counters = "; ".join(
        f"{direction}: {'/'.join(str(c.get(name, 0)) for name in COUNTERS)}"
        for direction, c in figures.counters.items()
    )
    run = "initial full sync" if figures.kind == "full" else "no change"
    print(
        f"| {figures.job} | {run} | {figures.wall:.2f} | {figures.cpu:.2f} | {figures.peak_rss_mib:.0f} "
        f"| {requests} | {figures.written} | {per_thousand} | {counters} |"
    )


def initial_load_in_waves(work: Path, customers: int, timeout: float, waves: list[list[str]]) -> None:
    sandbox = started_services(work, customers, timeout)
    try:
        print()
        print("| wave | jobs (in parallel) | wall s | longest run_job s | records written | failed |")
        print("| --- | --- | --- | --- | --- | --- |")
        total = time.perf_counter()
        for number, wave in enumerate(waves, start=1):
            started = time.perf_counter()
            runs = run_apart([(job, "full") for job in wave], work)
            failed = sum(int(c.get("Failed", 0)) for r in runs for c in r.counters.values())
            written = sum(r.written for r in runs)
            wall = time.perf_counter() - started
            longest = max(r.wall for r in runs)
            print(f"| {number} | {', '.join(wave)} | {wall:.2f} | {longest:.2f} | {written} | {failed} |")
        print(
            f"| all | {sum(len(w) for w in waves)} jobs in {len(waves)} waves | "
            f"{time.perf_counter() - total:.2f} | | | |"
        )
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000, help="customers seeded (default 10000)")
    parser.add_argument("--seed-timeout", type=float, default=1800, help="seconds to wait for the seed")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (each run's log in logs/)")
    options = parser.parse_args()
    waves = enabled_waves()
    print(f"enabled jobs in dependency waves: {' | '.join(', '.join(wave) for wave in waves)}")
    work = Path(tempfile.mkdtemp(prefix="bench_job_figures_"))
    try:
        per_job_figures(work / "per_job", options.customers, options.seed_timeout, waves)
        initial_load_in_waves(work / "waves", options.customers, options.seed_timeout, waves)
    finally:
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
