"""End-to-end CUSTOMER sync through the real path: local services over HTTPS, SQLite store, dag.test runs.

Seeds N customers, runs SALESPEOPLE and CURRENCY full synchronizations (dependencies, not timed), then
times three runs of `bcsync_customer`, each restricted to BC → Sales (ToIntegrationTable):

1. initial full synchronization (conf {"full_sync": true, "direction": "ToIntegrationTable"});
2. incremental run after 1 % of the customers were changed through the BC API (JSON $batch);
3. incremental run with nothing changed (the Airflow overhead floor).

For each: wall time of the DAG-run process, its peak RSS and CPU time, the local services' CPU time,
the job log counters (coupling store), and the HTTP requests the services answered (their admin stats),
per 1,000 records written and by method and path template. The Airflow overhead is split from our
task code with dag.test's log: process start-up (imports, DagBag), dag.test outside the tasks, the task
runner around each callable, and the callables themselves.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/sync_benchmark.py [--customers 100000]
        [--changed-percent 1] [--profile | --profile-cpu] [--keep] [--work-dir DIR] [--no-bytecode-cache]

The DAG-run processes cache compiled modules under the work dir (PYTHONPYCACHEPREFIX), as a deployed
worker has them; --no-bytecode-cache keeps an inherited PYTHONDONTWRITEBYTECODE=1 instead.

--profile runs each timed DAG run under cProfile (main thread only: the hooks' parallel batch threads
are not profiled; their time shows as waits) and prints the top functions; it slows the runs down.
--profile-cpu does the same with the main thread's CPU time as the clock: waits on HTTP cost nothing,
so it shows where the CPU goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _sync_runs import (
    change_customers,
    changed_customers,
    child_result,
    peak_rss_kb,
    print_result,
    task_peak_rss_mb,
)

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "bcsync_customer"
DEPENDENCY_DAGS = ("bcsync_salespeople", "bcsync_currency")
DIRECTION = "ToIntegrationTable"
COUNTERS = ("inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled")
# "matched": pairs the couple step coupled by matching (its log line), next to the job log's "coupled"
COLUMNS = (*COUNTERS, "matched")
SERVICES = ("bc", "dataverse")


@dataclass
class TaskTime:
    total: float  # dag.test "starting task" → "end task": Airflow's task runner around our code
    code: float  # our code: the operator's own "bcsync code time" line


@dataclass
class RunFigures:
    name: str
    wall: float = 0.0
    startup: float = 0.0  # child process: interpreter + imports + DagBag parse, before dag.test
    dag_test: float = 0.0  # child process: dag.test() itself
    tasks: dict[str, TaskTime] = field(default_factory=dict)  # from the dag.test log
    peak_rss_mb: float = 0.0
    cpu: float = 0.0
    server_cpu: float = 0.0
    state: str = ""
    counters: dict[str, int] = field(default_factory=dict)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # service → stats snapshot
    profile: str = ""

    @property
    def task_total(self) -> float:
        return sum(t.total for t in self.tasks.values())

    @property
    def task_code(self) -> float:
        return sum(t.code for t in self.tasks.values())

    @property
    def written(self) -> int:
        return sum(self.counters.get(c, 0) for c in ("inserted", "modified", "deleted"))

    @property
    def total_requests(self) -> int:
        return sum(int(s.get("total", 0)) for s in self.requests.values())


# -- child mode: one DAG run in this process ----------------------------------------------------------


def child(dag_ids: list[str], conf: dict[str, Any], profile_file: str | None, cpu_clock: bool = False) -> int:
    """Run the DAGs with bcsync_dev.local_runs in this process; print one JSON line with the figures."""
    began = time.perf_counter()
    from bcsync_dev import local_runs

    dags = local_runs.load_dags()
    loaded = time.perf_counter()
    profiler = None
    if profile_file:
        # The main thread's CPU time: what the profiled thread spends itself, not its waits.
        profiler = cProfile.Profile(time.thread_time) if cpu_clock else cProfile.Profile()
    states: dict[str, str] = {}
    if profiler:
        profiler.enable()
    for dag_id in dag_ids:
        dag_run = dags[dag_id].test(run_conf=conf)
        states[dag_id] = str(getattr(dag_run, "state", "unknown")).rsplit(".", 1)[-1].lower()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_file)
    ran = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "states": states,
        "startup_in_process": loaded - began,
        "dag_test": ran - loaded,
        "maxrss_kb": peak_rss_kb(),
        "cpu": usage.ru_utime + usage.ru_stime,
    }
    print_result(result)
    return 0  # a failed run state (records that failed) is reported, not an error of the benchmark


# -- parent: environment, sandbox, runs ---------------------------------------------------------------


class Bench:
    def __init__(
        self,
        work: Path,
        customers: int,
        profile: bool,
        bytecode_cache: bool = True,
        profile_cpu: bool = False,
        seed_timeout: float | None = None,
        seeded_services: Path | None = None,
    ) -> None:
        self.work = work
        # A copy of services seeded with the same customers earlier (a big seed takes longer than the
        # runs): the services find data and do not seed again.
        self.seeded_services = seeded_services
        # Seconds the services may take to seed and answer (a busy machine seeds several times slower).
        # Seeding takes about 1.6 s per 1,000 customers on an idle machine; allow for a busy one.
        self.seed_timeout = seed_timeout or max(300, customers / 100)
        self.bytecode_cache = bytecode_cache
        self.customers = customers
        self.profile = profile or profile_cpu
        self.profile_cpu = profile_cpu
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.store_url = f"sqlite:///{work / 'store.db'}"
        self.env: dict[str, str] = {}
        self.sandbox: Any = None

    def start(self) -> float:
        from sandbox.launcher import start_sandbox

        began = time.perf_counter()
        if self.seeded_services:
            shutil.copytree(self.seeded_services, self.work / "sandbox")
        self.sandbox = start_sandbox(
            self.work / "sandbox", seed_customers=self.customers, timeout=self.seed_timeout
        )
        seeded = time.perf_counter() - began
        home = self.work / "airflow"
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "AIRFLOW_CONN_BCSYNC_STORE": self.store_url,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "BCSYNC_STAGING_URL": f"file://{self.work / 'staging'}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include")]),
        }
        if self.bytecode_cache:
            # Compiled modules are cached under the work dir (never in the checkout), so the DAG-run
            # processes import like a deployed worker does; the untimed dependency run warms the cache.
            self.env["PYTHONPYCACHEPREFIX"] = str(self.work / "pycache")
        os.environ.update(self.env)  # before anything imports airflow in this process
        from bcsync_dev.sandbox_connections import sandbox_connections

        self.env.update(sandbox_connections(self.sandbox))
        os.environ.update(self.env)
        with (self.logs / "airflow-db-migrate.log").open("w") as log:
            subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                env=self.child_env(),
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return seeded

    def child_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        if self.bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()

    def run(self, name: str, dag_ids: tuple[str, ...], conf: dict[str, Any], *, timed: bool) -> RunFigures:
        figures = RunFigures(name)
        profile_file = str(self.logs / f"{_slug(name)}.prof") if (self.profile and timed) else None
        command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(conf), *dag_ids]
        if profile_file:
            option = "--child-profile-cpu" if self.profile_cpu else "--child-profile"
            command[3:3] = [option, profile_file]
        if timed:
            for service in SERVICES:
                self.sandbox.admin(service, "POST", "stats/reset")
        server_cpu = _process_cpu(self.sandbox.process.pid)
        started_on = datetime.now(UTC)
        log_file = self.logs / f"{_slug(name)}.log"
        began = time.perf_counter()
        with log_file.open("w") as log:
            process = subprocess.run(
                command, env=self.child_env(), stdout=log, stderr=subprocess.STDOUT, check=False
            )
        figures.wall = time.perf_counter() - began
        figures.server_cpu = _process_cpu(self.sandbox.process.pid) - server_cpu
        result = child_result(log_file)
        if process.returncode or not result:
            raise SystemExit(f"{name}: the DAG run failed (exit {process.returncode}); see {log_file}")
        figures.state = ",".join(result["states"].values())
        if any(state != "success" for state in result["states"].values()):
            print(f"  note: {name}: run state {result['states']} (record failures; see {log_file})")
        figures.dag_test = result["dag_test"]
        figures.startup = figures.wall - result["dag_test"]
        # The hungriest task's peak: each task resets the process's peak when it starts.
        figures.peak_rss_mb = max(result["maxrss_kb"] / 1024, task_peak_rss_mb(log_file))
        figures.cpu = result["cpu"]
        if timed:
            figures.requests = {s: self.sandbox.admin(s, "GET", "stats") for s in SERVICES}
            figures.counters = self._counters(started_on)
            figures.counters["matched"] = newly_coupled(log_file)
            figures.tasks = task_times(log_file)
            if profile_file:
                figures.profile = _top_functions(profile_file)
        return figures

    def _counters(self, since: datetime) -> dict[str, int]:
        from bcsync.store.store import CouplingStore

        store = CouplingStore(self.store_url)
        try:
            jobs = store.jobs("CUSTOMER", limit=20)
        finally:
            store.dispose()
        jobs = jobs[(jobs["started_on"] >= since) & (jobs["direction"] == DIRECTION)]
        return {c: int(jobs[c].fillna(0).sum()) for c in COUNTERS if c in jobs.columns}

    def change_customers(self, percent: float) -> tuple[int, float]:
        """Update `percent` % of N customers (coupled ones) through the BC API; returns (count, seconds)."""
        from bcsync.store.store import CouplingStore

        store = CouplingStore(self.store_url)
        try:
            bc_ids = store.couplings("CUSTOMER")["bc_id"].dropna().tolist()
        finally:
            store.dispose()
        chosen = changed_customers(bc_ids, self.customers, percent)
        return len(chosen), change_customers(chosen)


# -- helpers ------------------------------------------------------------------------------------------


_MATCHED = re.compile(r"(\d+) newly coupled by matching")


def newly_coupled(log_file: Path) -> int:
    return sum(int(m.group(1)) for m in _MATCHED.finditer(log_file.read_text(errors="replace")))


_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")
_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
_CODE_TIME = re.compile(r"bcsync code time: \S+ \w+ ([\d.]+) s")


def task_times(log_file: Path) -> dict[str, TaskTime]:
    """Per task, from dag.test's log: time in Airflow's task runner and time in our code.

    Our code's time is the `bcsync code time` line each bcsync operator logs last (its own clock around
    the step, `bcsync.operators.base.TIME_MARKER`).
    """
    times: dict[str, TaskTime] = {}
    task = started = None
    code = 0.0
    for line in log_file.read_text(errors="replace").splitlines():
        stamp = _LOG_TIME.match(line)
        if not stamp:
            continue
        moment = datetime.fromisoformat(stamp.group(1)).timestamp()
        if match := _TASK_START.search(line):
            task, started, code = match.group(1), moment, 0.0
        elif task is None:
            continue
        elif match := _CODE_TIME.search(line):
            code = float(match.group(1))
        elif _TASK_END.search(line):
            times[task] = TaskTime(total=moment - started, code=code)
            task = None
    return times


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def _process_cpu(pid: int) -> float:
    try:
        import psutil
    except ImportError:
        return 0.0
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def _top_functions(profile_file: str, limit: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile_file, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


# -- report -------------------------------------------------------------------------------------------


def print_report(runs: list[RunFigures]) -> None:
    print(
        f"\n{'run':<24} {'wall s':>7} {'code s':>7} {'peak MB':>7} {'cpu s':>6} {'srv cpu':>7} "
        + "".join(f"{c[:8]:>9}" for c in COLUMNS)
        + f" {'requests':>8} {'req/1k wr':>9}"
    )
    for run in runs:
        per_k = f"{run.total_requests * 1000 / run.written:.1f}" if run.written else "n/a"
        print(
            f"{run.name:<24} {run.wall:>7.1f} {run.task_code:>7.1f} {run.peak_rss_mb:>7.0f} "
            f"{run.cpu:>6.1f} {run.server_cpu:>7.1f} "
            + "".join(f"{run.counters.get(c, 0):>9,}" for c in COLUMNS)
            + f" {run.total_requests:>8,} {per_k:>9}"
        )
    print(
        "\nwall = DAG-run process (start to exit); code = time in our task callables; cpu = that "
        "process's CPU;\nsrv cpu = the local services' CPU during the run; req/1k wr = HTTP requests (both "
        "services) per 1,000 inserted/modified/deleted;\ncoupled = job log column; "
        "matched = pairs the couple step coupled by matching (its log)."
    )

    print(
        "\nAirflow overhead: process start + imports + DagBag | dag.test outside the tasks"
        " | task runner around our code:"
    )
    for run in runs:
        outside = run.dag_test - run.task_total
        runner = run.task_total - run.task_code
        print(
            f"  {run.name:<24} startup {run.startup:5.1f} s | dag.test {outside:5.1f} s"
            f" | runner {runner:5.1f} s | our code {run.task_code:7.1f} s  (wall {run.wall:.1f} s)"
        )

    print("\nTask times, s (our code / with the task runner):")
    task_ids = sorted({t for run in runs for t in run.tasks}, key=_task_order)
    print(f"  {'task':<12}" + "".join(f"{run.name[:22]:>24}" for run in runs))
    for task_id in task_ids:
        cells = []
        for run in runs:
            time_ = run.tasks.get(task_id)
            cells.append(f"{time_.code:.2f} / {time_.total:.2f}" if time_ else "-")
        print(f"  {task_id:<12}" + "".join(f"{cell:>24}" for cell in cells))

    print("\nHTTP requests by service, method and path template:")
    for run in runs:
        print(f"  {run.name}:")
        for service in SERVICES:
            snapshot = run.requests.get(service, {})
            routes = snapshot.get("by_route", {})
            if not routes:
                print(f"    {service:<10} (none)")
                continue
            for route, statuses in sorted(routes.items(), key=lambda item: -sum(item[1].values())):
                count = sum(statuses.values())
                status = ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items()))
                print(f"    {service:<10} {count:>6,}  {route}  [{status}]")

    for run in runs:
        if run.profile:
            print(f"\ncProfile of {run.name} (main thread of the DAG-run process):\n{run.profile}")


def _task_order(task_id: str) -> int:
    order = ("extract_bc", "extract_crm", "couple", "transform", "load_crm", "load_bc", "record_job")
    return order.index(task_id) if task_id in order else len(order)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        args = sys.argv[2:]
        profile_file, cpu_clock = None, False
        if args and args[0] in ("--child-profile", "--child-profile-cpu"):
            cpu_clock = args[0] == "--child-profile-cpu"
            profile_file, args = args[1], args[2:]
        return child(args[1:], json.loads(args[0]), profile_file, cpu_clock)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000, help="customers seeded (default 100000)")
    parser.add_argument("--changed-percent", type=float, default=1.0, help="customers changed for run 2")
    profiling = parser.add_mutually_exclusive_group()
    profiling.add_argument("--profile", action="store_true", help="cProfile each timed run (slower)")
    profiling.add_argument(
        "--profile-cpu",
        action="store_true",
        help="cProfile each timed run by the main thread's CPU time, not wall time (slower)",
    )
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="keep the inherited PYTHONDONTWRITEBYTECODE: every DAG-run process compiles all modules",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, store, profiles)")
    parser.add_argument("--work-dir", type=Path, help="work dir (default: a new /tmp/bench_sync_*)")
    parser.add_argument(
        "--seeded-services",
        type=Path,
        help="a data dir of the local services seeded with --customers and not synchronized yet "
        "(e.g. a kept run's sandbox/ copied before its runs): copied, not seeded again",
    )
    args = parser.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_sync_"))
    if args.work_dir:
        work.mkdir(parents=True, exist_ok=False)
    print(f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {platform.platform()}")
    print(
        f"python {platform.python_version()}; work dir {work}; bytecode cache for the DAG runs: "
        + ("off (inherited environment)" if args.no_bytecode_cache else "on (under the work dir)")
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the store's migration check, in this process
    bench = Bench(
        work,
        args.customers,
        args.profile,
        bytecode_cache=not args.no_bytecode_cache,
        profile_cpu=args.profile_cpu,
        seeded_services=args.seeded_services,
    )
    runs: list[RunFigures] = []
    try:
        print(f"seeding {args.customers:,} customers and starting the local services ...", flush=True)
        seeded = bench.start()
        print(f"  ready in {seeded:.0f} s", flush=True)

        deps = bench.run("dependencies", DEPENDENCY_DAGS, {"full_sync": True}, timed=False)
        print(f"dependencies (SALESPEOPLE, CURRENCY full sync, not timed): {deps.wall:.1f} s", flush=True)

        full = {"full_sync": True, "direction": DIRECTION}
        runs.append(bench.run("1 initial full sync", (DAG_ID,), full, timed=True))
        print(f"run 1 done: {runs[-1].wall:.1f} s", flush=True)

        changed, seconds = bench.change_customers(args.changed_percent)
        print(f"changed {changed:,} customers through the BC API in {seconds:.1f} s", flush=True)
        runs.append(
            bench.run(f"2 incremental {changed:,} chg", (DAG_ID,), {"direction": DIRECTION}, timed=True)
        )
        print(f"run 2 done: {runs[-1].wall:.1f} s", flush=True)

        runs.append(bench.run("3 incremental, no chg", (DAG_ID,), {"direction": DIRECTION}, timed=True))
        print(f"run 3 done: {runs[-1].wall:.1f} s", flush=True)
    finally:
        bench.stop()
        if runs:
            print_report(runs)
        if args.keep:
            print(f"\nkept: {work} (logs/ has each run's output and profiles)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
