"""The runs users have every 30 minutes: CUSTOMER under the real Airflow scheduler, where the time goes.

Seeds N customers in local services, starts the local Airflow stack of `make airflow`
(`bcsync_dev.local_airflow`: api-server, scheduler with the LocalExecutor, dag-processor; its metadata
on SQLite or `--metadata-db`), and drives it through the REST API v2 as a user would:

1. full synchronizations of SALESPEOPLE and CURRENCY (CUSTOMER's dependencies), then, so that no
   customer fails on every run (a failed record is a candidate of every run: BC retries it), the
   salesperson of customers whose salesperson has no Sales user is cleared in BC; then CUSTOMER's full
   synchronization and one incremental run that settles it (the BC customers the full sync created
   are read back once). Not timed.
2. `--runs` incremental runs with nothing changed, then one after `--changed-percent` % of the
   customers changed through the BC API (JSON `$batch`). Each is a run triggered without conf: the
   scheduled kind (from the watermarks), created through the API instead of by the timetable, so it
   starts at once.

Per run: wall from the run's creation to its success (the API's `queued_at` → `end_date`) and by this
script's clock (POST → success seen, polled every 0.2 s); bcsync's own code (Σ of the tasks'
`bcsync code time` lines: wall and CPU); the CPU of every Airflow process and task process meanwhile
(psutil, the stack's process trees); Airflow = total − bcsync, and the time no task of the run was
running (scheduling and queueing between tasks); the tasks that ran and were skipped;
the HTTP requests both services answered (`/_sandbox/stats`), by route; the job log's counters.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/scheduled_runs.py [--customers 10000]
        [--runs 3] [--changed-percent 1] [--metadata-db URL] [--keep] [--no-bytecode-cache]

Task processes cache compiled modules under the work dir (PYTHONPYCACHEPREFIX), as a deployment has
them; --no-bytecode-cache keeps an inherited PYTHONDONTWRITEBYTECODE=1 instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))  # the e2e tier's REST client and DAG wait

from airflow_api import AirflowApi  # noqa: E402
from e2e_stack import wait_for_dags  # noqa: E402

from bcsync.operators.base import TIME_MARKER  # noqa: E402
from bcsync_dev.local_airflow import LocalAirflow, local_airflow  # noqa: E402
from sandbox.launcher import RunningSandbox, free_ports, running_sandbox  # noqa: E402

CUSTOMER = "bcsync_customer"
DEPENDENCIES = ("bcsync_salespeople", "bcsync_currency")
SERVICES = ("bc", "dataverse")
COUNTERS = ("inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled")
CODE_TIME = re.compile(
    rf"{TIME_MARKER}: .+? (?P<step>\w+) (?P<wall>[\d.]+) s, cpu (?P<cpu>[\d.]+) s"
    r"(?:, peak rss (?P<peak>\d+|\?) MB)?"
)
UPDATE_BATCH = 5000
RUN_TIMEOUT = 1800.0


@dataclass(frozen=True)
class TaskTime:
    """One `bcsync code time` line of a task's log."""

    step: str
    wall: float
    cpu: float
    peak_rss_mb: int | None  # None: the task could not read its peak (or an older line without it)


@dataclass(frozen=True)
class TaskPeak:
    task: str  # task id, with [map index] for a mapped task
    mb: int


def code_times(log: str) -> list[TaskTime]:
    """The timing lines of a task log, in order (a retried task logs one per try)."""
    return [
        TaskTime(
            step=found["step"],
            wall=float(found["wall"]),
            cpu=float(found["cpu"]),
            peak_rss_mb=int(found["peak"]) if found["peak"] and found["peak"] != "?" else None,
        )
        for found in CODE_TIME.finditer(log)
    ]


def hungriest(peaks: list[TaskPeak]) -> TaskPeak | None:
    return max(peaks, key=lambda peak: peak.mb, default=None)


@dataclass
class RunFigures:
    name: str
    wall_api: float  # queued_at → end_date
    wall_clock: float  # POST → success seen
    state: str
    code_wall: float
    code_cpu: float
    total_cpu: float  # every Airflow process and task process
    services_cpu: float  # the local services (BC, Dataverse, Entra: one process) meanwhile
    tasks_ran: int
    tasks_skipped: int
    requests: int
    gaps: float  # time no task of the run was running: scheduling, queueing, task process start
    peak_rss: TaskPeak | None = None  # the hungriest task's own peak (its timing line)
    tasks: str = ""  # each task's timing line, as task_summary prints it
    routes: dict[str, int] = field(default_factory=dict)
    counters: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def airflow_wall(self) -> float:
        return self.wall_api - self.code_wall

    @property
    def airflow_cpu(self) -> float:
        return self.total_cpu - self.code_cpu


def services_cpu(sandbox: RunningSandbox) -> float:
    """CPU seconds of the local services' process so far."""
    times = psutil.Process(sandbox.process.pid).cpu_times()
    return times.user + times.system


def stack_cpu(stack: LocalAirflow) -> float:
    """CPU seconds of the stack's processes and all their descendants, reaped ones included (their
    time is in their parent's children times: task processes are reaped by long-lived workers)."""
    total = 0.0
    for component in stack.components:
        try:
            root = psutil.Process(component.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def reset_stats(sandbox: RunningSandbox) -> None:
    for service in SERVICES:
        sandbox.admin(service, "POST", "stats/reset")


def requests_by_route(sandbox: RunningSandbox) -> dict[str, int]:
    routes: dict[str, int] = {}
    for service in SERVICES:
        for route, statuses in sandbox.admin(service, "GET", "stats")["by_route"].items():
            routes[f"{service} {route}"] = sum(statuses.values())
    return routes


def run_and_wait(api: AirflowApi, dag_id: str, conf: dict[str, Any] | None = None) -> tuple[str, float]:
    """Trigger a run and wait until it finished; returns its id and this script's wall time."""
    started = time.perf_counter()
    run_id = api.trigger(dag_id, conf or {})
    api.wait_for_run(dag_id, run_id, timeout=RUN_TIMEOUT, poll=0.2)
    return run_id, time.perf_counter() - started


@dataclass
class RunTasks:
    ran: int = 0  # task processes started (couple may end skipped after its work)
    skipped: int = 0  # skipped by the scheduler without a process
    lines: list[tuple[str, TaskTime]] = field(default_factory=list)  # (task, its timing line)


def run_tasks(api: AirflowApi, dag_id: str, run_id: str) -> RunTasks:
    """The run's task instances and the timing lines of those that ran (read from their logs)."""
    tasks = RunTasks()
    for ti in api.task_instances(dag_id, run_id):
        if not started(ti):
            tasks.skipped += int(ti["state"] == "skipped")
            continue
        tasks.ran += 1
        log = api.task_log(dag_id, run_id, ti["task_id"], ti["try_number"], map_index=ti["map_index"])
        tasks.lines += [(task_label(ti), line) for line in code_times(log)]
    return tasks


def started(ti: dict[str, Any]) -> bool:
    """A process ran the task instance (a try was made), whatever its state: a couple that finds
    nothing to do ends skipped after its work, and its timing line counts."""
    return (ti.get("try_number") or 0) > 0


def task_label(ti: dict[str, Any]) -> str:
    """The task id, with `[i]` for a mapped task's instance (map index -1: not mapped)."""
    index = ti.get("map_index")
    return ti["task_id"] if index is None or index < 0 else f"{ti['task_id']}[{index}]"


def task_summary(tasks: RunTasks) -> str:
    """`task wall/cpu s peak MB` per timing line, for the untimed setup runs."""
    return ", ".join(
        f"{task} {line.wall:.1f}/{line.cpu:.1f} s {line.peak_rss_mb or '?'} MB" for task, line in tasks.lines
    )


def timed_run(name: str, api: AirflowApi, stack: LocalAirflow) -> RunFigures:
    reset_stats(stack.sandbox)
    cpu_before, services_before = stack_cpu(stack), services_cpu(stack.sandbox)
    run_id, clock = run_and_wait(api, CUSTOMER)
    total_cpu = stack_cpu(stack) - cpu_before
    services = services_cpu(stack.sandbox) - services_before
    routes = requests_by_route(stack.sandbox)
    run = api.get_run(CUSTOMER, run_id)
    tasks = run_tasks(api, CUSTOMER, run_id)
    peaks = [TaskPeak(task, line.peak_rss_mb) for task, line in tasks.lines if line.peak_rss_mb is not None]
    created = run.get("queued_at") or run["start_date"]
    timing = api.run_timing(CUSTOMER, run_id)
    return RunFigures(
        name=name,
        wall_api=(_dt(run["end_date"]) - _dt(created)).total_seconds(),
        wall_clock=clock,
        state=run["state"],
        code_wall=sum(line.wall for _, line in tasks.lines),
        code_cpu=sum(line.cpu for _, line in tasks.lines),
        total_cpu=total_cpu,
        services_cpu=services,
        tasks_ran=tasks.ran,
        tasks_skipped=tasks.skipped,
        requests=sum(routes.values()),
        gaps=timing.idle,
        peak_rss=hungriest(peaks),
        tasks=task_summary(tasks),
        routes=routes,
        counters=job_counters(stack.store_url, run_id),
    )


def job_counters(store_url: str, run_id: str) -> dict[str, dict[str, int]]:
    from bcsync.store.store import CouplingStore

    store = CouplingStore(store_url)
    try:
        jobs = store.jobs("CUSTOMER", limit=50)
    finally:
        store.dispose()
    rows = jobs[jobs["run_id"] == run_id]
    return {row["direction"]: {c: int(row[c] or 0) for c in COUNTERS} for _, row in rows.iterrows()}


def clear_salespeople_without_sales_user(store_url: str) -> int:
    """Clear the salesperson of BC customers whose salesperson is coupled to no Sales user: CUSTOMER
    would fail them on every run (the owner lookup finds no user), and a failed record is a candidate
    of every scheduled run, so no run would be one "with nothing changed". Returns how many."""
    from bcsync.hooks.business_central import BusinessCentralHook
    from bcsync.store.store import CouplingStore

    store = CouplingStore(store_url)
    try:
        coupled = set(store.couplings("SALESPEOPLE")["bc_id"].dropna().str.lower())
    finally:
        store.dispose()
    hook = BusinessCentralHook()
    codes = {
        row["code"]
        for page in hook.iter_pages("salespeoplePurchasers", select=["id", "code"])
        for row in page
        if row["id"].lower() in coupled
    }
    orphans = [
        {"id": row["id"], "salespersonCode": ""}
        for page in hook.iter_pages("customers", select=["id", "salespersonCode"])
        for row in page
        if row.get("salespersonCode") and row["salespersonCode"] not in codes
    ]
    write(hook, orphans)
    return len(orphans)


def change_customers(store_url: str, customers: int, percent: float) -> int:
    """Update `percent` % of the customers (coupled ones: a scheduled run leaves uncoupled ones alone)
    through the BC API; returns how many."""
    from bcsync.hooks.business_central import BusinessCentralHook
    from bcsync.store.store import CouplingStore

    store = CouplingStore(store_url)
    try:
        bc_ids = store.couplings("CUSTOMER")["bc_id"].dropna().tolist()
    finally:
        store.dispose()
    count = min(len(bc_ids), max(1, int(customers * percent / 100)))
    chosen = bc_ids[:: max(1, len(bc_ids) // count)][:count]
    stamp = datetime.now(UTC).strftime("%H%M%S")
    write(
        BusinessCentralHook(),
        [{"id": bc_id, "phoneNumber": f"+1 425 {stamp[:3]} {i:05d}"} for i, bc_id in enumerate(chosen)],
    )
    return len(chosen)


def write(hook: Any, records: list[dict[str, Any]]) -> None:
    failures = 0
    for start in range(0, len(records), UPDATE_BATCH):
        results = hook.write_many("customers", records[start : start + UPDATE_BATCH], "update", if_match="*")
        failures += sum(1 for result in results if not result.ok)
    if failures:
        raise SystemExit(f"{failures} customer update(s) failed")


def prepare(api: AirflowApi, stack: LocalAirflow) -> None:
    for dag_id in (*DEPENDENCIES, CUSTOMER):
        api.unpause(dag_id)
    for dag_id in DEPENDENCIES:
        run_id, seconds = run_and_wait(api, dag_id, {"full_sync": True})
        print(f"{dag_id} full sync: {api.get_run(dag_id, run_id)['state']} in {seconds:.1f} s", flush=True)
        print(f"  tasks (bcsync wall/CPU, peak RSS): {task_summary(run_tasks(api, dag_id, run_id))}")
    cleared = clear_salespeople_without_sales_user(stack.store_url)
    print(f"customers whose salesperson has no Sales user, salesperson cleared: {cleared}", flush=True)
    for name, conf in (("full sync", {"full_sync": True}), ("settling run", {})):
        run_id, seconds = run_and_wait(api, CUSTOMER, conf)
        state = api.get_run(CUSTOMER, run_id)["state"]
        print(f"{CUSTOMER} {name}: {state} in {seconds:.1f} s; {job_counters(stack.store_url, run_id)}")
        print(
            f"  tasks (bcsync wall/CPU, peak RSS): {task_summary(run_tasks(api, CUSTOMER, run_id))}",
            flush=True,
        )


def print_report(runs: list[RunFigures]) -> None:
    print()
    print(
        "| run | state | wall s (created → success) | wall s (own clock) | bcsync wall s | bcsync CPU s "
        "| Airflow wall s (of which no task running) | Airflow CPU s | services CPU s | tasks ran / skipped "
        "| requests "
        "| peak RSS MB (task) | counters (To; From) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        counters = "; ".join(
            f"{d[:2]}: " + " ".join(f"{c[0].upper()}{n}" for c, n in cs.items() if n)
            for d, cs in r.counters.items()
        )
        print(
            f"| {r.name} | {r.state} | {r.wall_api:.2f} | {r.wall_clock:.2f} | {r.code_wall:.2f} "
            f"| {r.code_cpu:.2f} | {r.airflow_wall:.2f} ({r.gaps:.2f}) | {r.airflow_cpu:.2f} "
            f"| {r.services_cpu:.2f} "
            f"| {r.tasks_ran} / {r.tasks_skipped} | {r.requests} | {_peak(r.peak_rss)} | {counters or '-'} |"
        )
    quiet = [r for r in runs if r.name.startswith("no change")]
    if quiet:
        walls = [r.wall_api for r in quiet]
        cpus = [r.code_cpu for r in quiet]
        print(
            f"\nno-change runs: wall median {statistics.median(walls):.2f} s, min {min(walls):.2f} s; "
            f"bcsync CPU median {statistics.median(cpus):.2f} s, min {min(cpus):.2f} s"
        )
    for r in runs:
        print(f"tasks of {r.name} (bcsync wall/CPU, peak RSS): {r.tasks or 'none'}")
    for r in runs:
        routes = ", ".join(f"{route} {n}" for route, n in sorted(r.routes.items(), key=lambda i: -i[1]))
        print(f"requests of {r.name}: {routes or 'none'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000, help="customers seeded (default 10000)")
    parser.add_argument("--runs", type=int, default=3, help="no-change runs (default 3)")
    parser.add_argument("--changed-percent", type=float, default=1.0, help="of the customers (default 1)")
    parser.add_argument("--metadata-db", default=None, metavar="URL", help="Airflow's (default SQLite)")
    parser.add_argument("--seed-timeout", type=float, default=1800)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs/, the store)")
    parser.add_argument("--no-bytecode-cache", action="store_true")
    parser.add_argument(
        "--seeded-services",
        type=Path,
        metavar="DIR",
        help="a data dir of the local services seeded with --customers and not synchronized yet: copied, "
        "not seeded again (seeding 1,000,000 customers takes most of an hour)",
    )
    options = parser.parse_args()
    # `kill PID` stops the stack and the services too (the context managers' exits run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    work = Path(tempfile.mkdtemp(prefix="bench_scheduled_"))
    if not options.no_bytecode_cache:
        # Inherited by the stack's processes: compiled modules under the work dir, never in the venv.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    try:
        began = time.perf_counter()
        if options.seeded_services:
            shutil.copytree(options.seeded_services, work / "sandbox")
        with running_sandbox(
            work / "sandbox", seed_customers=options.customers, timeout=options.seed_timeout
        ) as sandbox:
            print(f"seed: {options.customers} customers, services up in {time.perf_counter() - began:.1f} s")
            (port,) = free_ports(1)
            with local_airflow(
                sandbox,
                work,
                api_port=port,
                job_schedule=False,
                metadata_db=options.metadata_db,
                on_phase=lambda phase, seconds: print(f"airflow: {phase} in {seconds:.1f} s", flush=True),
            ) as stack:
                os.environ.update(stack.env)  # this process's hooks and store reach the same services
                api = AirflowApi(stack.base_url)
                try:
                    wait_for_dags(api, (*DEPENDENCIES, CUSTOMER))
                    prepare(api, stack)
                    runs = [timed_run(f"no change {i}", api, stack) for i in range(1, options.runs + 1)]
                    changed = change_customers(stack.store_url, options.customers, options.changed_percent)
                    runs.append(timed_run(f"{changed} changed in BC", api, stack))
                finally:
                    api.close()
        print_report(runs)
    finally:
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _peak(peak: TaskPeak | None) -> str:
    return "-" if peak is None else f"{peak.mb} ({peak.task})"


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


if __name__ == "__main__":
    sys.exit(main())
