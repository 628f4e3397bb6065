"""bcsync against a plain per-record client, CUSTOMER BC → Sales, at several sizes: one table (issue 11).

Per size N, twice on fresh local services seeded alike (N customers, the same seed):

* bcsync: `dag.test()` of bcsync_customer in a child process, restricted to BC → Sales, after full
  synchronizations of SALESPEOPLE and CURRENCY (not timed), as sync_benchmark.py runs it;
* the client: benchmarks/naive_client.py in a child process (one HTTPS request per record written,
  couplings in its own SQLite table), after the same two bcsync dependency runs (its lookups use their
  couplings).

Each makes three timed runs: the initial full synchronization, an incremental run after 1 % of the
customers changed in BC (the same customers on both), and an incremental run with nothing changed.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/bench_sync.py --customers 1000 10000 100000

Figures per run: wall time of the run's process; its CPU time, for bcsync split into bcsync's own code
(the sum of the tasks' `bcsync code time ... cpu X s` log lines, mapped tasks included) and Airflow
(the rest of the DAG-run process's CPU); peak RSS of that process; HTTP requests both services
answered (their `/_sandbox/stats`, reset before each run) and per 1,000 records written.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _sync_runs import (
    change_customers,
    changed_customers,
    child_result,
    code_times,
    peak_rss_kb,
    print_result,
)
from sync_benchmark import DAG_ID, DEPENDENCY_DAGS, DIRECTION, SERVICES, Bench

WRITTEN = ("inserted", "modified", "deleted")
RUNS = ("initial sync", "1 % changed", "no change")  # the three timed runs, as the table names them


@dataclass
class Figures:
    wall: float
    cpu: float  # the run's process
    peak_rss_mb: float
    requests: int
    counters: dict[str, int] = field(default_factory=dict)
    code_cpu: float | None = None  # bcsync's own code (None for the client)

    @property
    def written(self) -> int:
        return sum(self.counters.get(name, 0) for name in WRITTEN)

    @property
    def per_thousand(self) -> float | None:
        return self.requests * 1000 / self.written if self.written else None


# -- the client's child process -----------------------------------------------------------------------


def naive_child(arguments: dict[str, Any]) -> int:
    from naive_client import Endpoints, NaiveClient

    client = NaiveClient(Endpoints(**arguments["endpoints"]), Path(arguments["database"]), arguments["store"])
    counters = client.sync(full=arguments["full"])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print_result({"counters": counters, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": peak_rss_kb()})
    return 0


# -- both sides at one size ---------------------------------------------------------------------------


def requests_answered(bench: Bench) -> int:
    return sum(int(bench.sandbox.admin(service, "GET", "stats")["total"]) for service in SERVICES)


def reset_stats(bench: Bench) -> None:
    for service in SERVICES:
        bench.sandbox.admin(service, "POST", "stats/reset")


def started(work: Path, customers: int, seed_timeout: float) -> Bench:
    """Fresh services seeded with `customers`, and SALESPEOPLE and CURRENCY synchronized by bcsync."""
    bench = Bench(work, customers, profile=False, seed_timeout=seed_timeout)
    try:
        seeded = bench.start()
        deps = bench.run("dependencies", DEPENDENCY_DAGS, {"full_sync": True}, timed=False)
    except BaseException:
        bench.stop()
        raise
    print(
        f"  seeded in {seeded:.0f} s; SALESPEOPLE and CURRENCY synchronized in {deps.wall:.0f} s", flush=True
    )
    return bench


def bcsync_runs(
    work: Path, customers: int, percent: float, seed_timeout: float
) -> tuple[list[Figures], list[str]]:
    """bcsync's three runs; also the customers changed, for the client to change the same ones."""
    bench = started(work, customers, seed_timeout)
    try:
        figures = [bcsync_run(bench, "initial", {"full_sync": True, "direction": DIRECTION})]
        chosen = changed_customers(coupled_by_bcsync(bench), customers, percent)
        change_customers(chosen)
        figures.append(bcsync_run(bench, "changed", {"direction": DIRECTION}))
        figures.append(bcsync_run(bench, "no-change", {"direction": DIRECTION}))
    finally:
        bench.stop()
    return figures, chosen


def bcsync_run(bench: Bench, name: str, conf: dict[str, Any]) -> Figures:
    run = bench.run(name, (DAG_ID,), conf, timed=True)
    _, code_cpu = code_times(bench.logs / f"{name}.log")  # `name` is a slug: Bench logs to that file
    counters = {name: int(run.counters.get(name, 0)) for name in (*WRITTEN, "unchanged", "failed", "coupled")}
    print(f"  bcsync {name}: {run.wall:.1f} s, {counters}", flush=True)
    return Figures(run.wall, run.cpu, run.peak_rss_mb, run.total_requests, counters, code_cpu)


def coupled_by_bcsync(bench: Bench) -> list[str]:
    from bcsync.store.store import CouplingStore

    store = CouplingStore(bench.store_url)
    try:
        return store.couplings("CUSTOMER")["bc_id"].dropna().tolist()
    finally:
        store.dispose()


def client_runs(work: Path, customers: int, chosen: list[str], seed_timeout: float) -> list[Figures]:
    from naive_client import Endpoints

    bench = started(work, customers, seed_timeout)
    try:
        arguments = {
            "endpoints": dataclasses.asdict(Endpoints.from_sandbox(bench.sandbox)),
            "database": str(work / "naive.db"),
            "store": bench.store_url,
        }
        figures = [client_run(bench, "initial", {**arguments, "full": True})]
        change_customers(chosen)  # the same customers as bcsync's (the seed gives them the same ids)
        figures.append(client_run(bench, "changed", {**arguments, "full": False}))
        figures.append(client_run(bench, "no-change", {**arguments, "full": False}))
    finally:
        bench.stop()
    return figures


def client_run(bench: Bench, name: str, arguments: dict[str, Any]) -> Figures:
    reset_stats(bench)
    log_file = bench.logs / f"client-{name}.log"
    command = [sys.executable, str(Path(__file__).resolve()), "--naive-child", json.dumps(arguments)]
    began = time.perf_counter()
    with log_file.open("w") as log:
        process = subprocess.run(
            command, env=bench.child_env(), stdout=log, stderr=subprocess.STDOUT, check=False
        )
    wall = time.perf_counter() - began
    result = child_result(log_file)
    if process.returncode or not result:
        raise SystemExit(f"client {name}: failed (exit {process.returncode}); see {log_file}")
    counters = {name: int(value) for name, value in result["counters"].items() if name != "deleted"}
    print(f"  client {name}: {wall:.1f} s, {counters}", flush=True)
    return Figures(wall, result["cpu"], result["maxrss_kb"] / 1024, requests_answered(bench), counters)


# -- the table ----------------------------------------------------------------------------------------


def table(results: dict[int, tuple[list[Figures], list[Figures]]]) -> str:
    lines = [
        "| customers | run | figure | bcsync | per-record client | bcsync ÷ client |",
        "|---|---|---|---|---|---|",
    ]
    for customers, (ours, theirs) in results.items():
        for run, mine, client in zip(RUNS, ours, theirs, strict=True):
            airflow = mine.cpu - (mine.code_cpu or 0.0)
            same = "same" if _comparable(mine.counters) == _comparable(client.counters) else "**differ**"
            rows = [
                ("wall s", f"{mine.wall:.1f}", f"{client.wall:.1f}", _ratio(mine.wall, client.wall)),
                (
                    "CPU s (bcsync code + Airflow)",
                    f"{mine.cpu:.1f} ({mine.code_cpu or 0:.1f} + {airflow:.1f})",
                    f"{client.cpu:.1f}",
                    _ratio(mine.cpu, client.cpu),
                ),
                (
                    "bcsync code CPU s",
                    f"{mine.code_cpu or 0:.2f}",
                    f"{client.cpu:.2f}",
                    _ratio(mine.code_cpu, client.cpu),
                ),
                (
                    "peak RSS MB",
                    f"{mine.peak_rss_mb:.0f}",
                    f"{client.peak_rss_mb:.0f}",
                    _ratio(mine.peak_rss_mb, client.peak_rss_mb),
                ),
                (
                    "requests",
                    f"{mine.requests:,}",
                    f"{client.requests:,}",
                    _ratio(mine.requests, client.requests),
                ),
                (
                    "requests per 1,000 written",
                    _number(mine.per_thousand),
                    _number(client.per_thousand),
                    _ratio(mine.per_thousand, client.per_thousand),
                ),
                ("counters (ins/mod/unch/fail/coupled)", _counters(mine), _counters(client), same),
            ]
            for figure, a, b, ratio in rows:
                lines.append(f"| {customers:,} | {run} | {figure} | {a} | {b} | {ratio} |")
    return "\n".join(lines)


def _comparable(counters: dict[str, int]) -> dict[str, int]:
    return {name: value for name, value in counters.items() if value}


def _counters(figures: Figures) -> str:
    names = ("inserted", "modified", "unchanged", "failed", "coupled")
    return "/".join(f"{figures.counters.get(name, 0):,}" for name in names)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    return f"{ours / theirs:.2f}" if ours is not None and theirs else "–"


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--naive-child":
        return naive_child(json.loads(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument(
        "--seed-timeout", type=float, help="seconds to wait for the seed (default: 120, or N/100 if more)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (each run's log in logs/)")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the store's migration check, in this process
    work = Path(tempfile.mkdtemp(prefix="bench_sync_vs_client_"))
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, python {platform.python_version()}")
    results: dict[int, tuple[list[Figures], list[Figures]]] = {}
    try:
        for customers in args.customers:
            print(f"{customers:,} customers: bcsync", flush=True)
            seed_timeout = args.seed_timeout or max(120, customers / 100)
            ours, chosen = bcsync_runs(
                work / f"bcsync-{customers}", customers, args.changed_percent, seed_timeout
            )
            print(f"{customers:,} customers: per-record client ({len(chosen):,} changed)", flush=True)
            theirs = client_runs(work / f"client-{customers}", customers, chosen, seed_timeout)
            results[customers] = (ours, theirs)
    finally:
        if results:
            print()
            print(table(results))
            print(
                "\nCPU: the run's process (bcsync: the dag.test process, tasks included; bcsync code = the "
                "sum of its tasks' timing lines, Airflow = the rest). Requests: both services, per run."
            )
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
