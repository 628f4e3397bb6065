"""A local Airflow for bcsync: api-server, scheduler (LocalExecutor), dag-processor and triggerer on a
sandbox; or, with `executor="celery"`, the CeleryExecutor with two Celery workers (`celery_airflow`).

`make airflow` (`python -m bcsync_dev.local_airflow`) starts the local Business Central, Dataverse and
Entra ID services and this Airflow, so the whole daily work — unpause, trigger with Params, read task
logs, clear, backfill — can be tried in the UI without a tenant. The end-to-end tests start the same
stack (tests/e2e/e2e_stack.py).

Every process started here runs in its own process group and is stopped, also when the start-up
fails: SIGTERM to the component, which stops its own children, then SIGTERM and SIGKILL to whatever
of it and its descendants is left (task processes put themselves in their own groups).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests
from sqlalchemy.engine import make_url

from bcsync.pools import POOL_SIZES
from bcsync_dev.local_postgres import ensure_database, is_postgres, with_installed_driver
from bcsync_dev.local_runs import ROOT, airflow_environment, migrate_airflow_db
from sandbox.launcher import free_ports

STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
DEFAULT_WORK_DIR = ROOT / "var" / "airflow"
EXECUTORS = ("local", "celery")
CELERY_METADATA_DB = "postgresql://postgres@127.0.0.1:5432/bcsync_airflow_celery"

PhaseTimer = Callable[[str, float], None]

# What the LocalExecutor's forkserver imports once for every task process it starts (Airflow's
# `[core] mp_forkserver_preload`): without it each task imports Airflow's task runner, pandas, pyarrow,
# alembic, MSAL and bcsync's steps itself, ≈ 1 CPU-s per task. A module missing is skipped.
TASK_PRELOAD = (
    "airflow.sdk",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "airflow.executors.local_executor",
    "pandas",
    "pyarrow.parquet",
    "alembic",
    "msal",
    "bcsync.dag_factory",
    "bcsync.pipeline.runner",
)


@dataclass
class Component:
    """One Airflow process we started, in its own process group, logging to a file."""

    name: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return f"--- {self.name} log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])


@dataclass
class LocalAirflow:
    base_url: str
    env: dict[str, str]
    work_dir: Path
    sandbox: Any  # sandbox.launcher.RunningSandbox
    components: list[Component] = field(default_factory=list)

    @property
    def store_url(self) -> str:
        return self.env["AIRFLOW_CONN_BCSYNC_STORE"]

    @property
    def metadata_db(self) -> str:
        """Airflow's metadata database, password hidden."""
        url = (
            self.env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
            or f"sqlite:///{self.env['AIRFLOW_HOME']}/airflow.db"
        )
        return make_url(url).render_as_string(hide_password=True)

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    def logs(self) -> str:
        return "\n".join(c.tail() for c in self.components)


def server_environment(
    sandbox: Any,
    work_dir: Path,
    api_port: int,
    *,
    job_schedule: bool = True,
    metadata_db: str | None = None,
) -> dict[str, str]:
    """bcsync's environment plus what a local three-process Airflow needs to be self-contained.

    `job_schedule=False` keeps the scheduler from creating scheduled and asset-triggered runs: only
    runs triggered through the API or the UI (and backfills) happen. `metadata_db` is the SQLAlchemy URL
    of Airflow's metadata database; without it, SQLite in AIRFLOW_HOME.
    """
    base_url = f"http://127.0.0.1:{api_port}"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    return {
        **inherited,
        **airflow_environment(sandbox, work_dir),
        **({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db} if metadata_db else {}),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",  # a few task processes at a time on a laptop
        # A run's next task waits on these (docs/architecture.md, "Scheduling latency"): the task's
        # supervisor checks on it every min_heartbeat_interval s (default 5), the idle scheduler loops
        # every scheduler_idle_sleep_time s (default 1); task processes come from a preloaded forkserver.
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.25",
        "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
        "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": ",".join(TASK_PRELOAD),
        # Local use only: everyone who reaches 127.0.0.1 is an admin, no login page.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        # Shared by every component, so the scheduler's task tokens validate on the API server.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(job_schedule),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


def start_component(
    name: str, args: list[str], env: dict[str, str], log_dir: Path, cwd: Path = ROOT
) -> Component:
    log_file = log_dir / f"{name}.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,  # own process group: one killpg reaches its workers
        )
    return Component(name, process, log_file)


def stop_components(components: list[Component], timeout: float = STOP_TIMEOUT) -> list[str]:
    """Stops every component and all its descendants; returns what needed SIGKILL.

    Each component's own process gets SIGTERM first and time to stop its children: the scheduler sends
    its LocalExecutor workers a shutdown message and joins them, and a worker signalled directly while
    it holds the shared task queue's lock would leave the others (and that join) waiting forever. What
    is still running after that gets SIGTERM, then SIGKILL. Descendants are collected first: task
    processes call setpgid() and would escape a killpg.
    """
    roots: list[psutil.Process] = []
    descendants: list[psutil.Process] = []
    for component in components:
        try:
            root = psutil.Process(component.process.pid)
            roots.append(root)
            descendants += root.children(recursive=True)
        except psutil.NoSuchProcess:
            pass
    _terminate(roots)
    psutil.wait_procs(roots, timeout=timeout)
    leftovers = [proc for proc in roots + descendants if _running(proc)]
    _terminate(leftovers)
    _, alive = psutil.wait_procs(leftovers, timeout=timeout / 3)
    killed = []
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            killed.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
            proc.kill()
    for component in components:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(component.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            component.process.wait(timeout)  # reap, so no zombie is left behind
    psutil.wait_procs(alive, timeout=timeout)
    return killed


def _terminate(processes: list[psutil.Process]) -> None:
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def import_pools(env: dict[str, str], work_dir: Path) -> Component:
    """`airflow pools import` of bcsync's pools (one CLI process for both); returns the started process."""
    pools_file = work_dir / "pools.json"
    pools_file.write_text(
        json.dumps(
            {
                name: {"slots": slots, "description": f"bcsync {name}", "include_deferred": False}
                for name, slots in POOL_SIZES.items()
            }
        )
    )
    return start_component("pools-import", ["pools", "import", str(pools_file)], env, work_dir / "logs")


HEALTH_CHECKED = ("scheduler", "dag_processor", "triggerer")


def wait_until_healthy(
    stack: LocalAirflow, servers: list[Component], timeout: float = STARTUP_TIMEOUT
) -> None:
    """`GET /api/v2/monitor/health` reports the scheduler, the DAG processor and the triggerer healthy."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with requests.Session() as session:
        session.trust_env = False
        while True:
            dead = [c for c in servers if not c.alive()]
            if dead:
                raise RuntimeError(
                    "Airflow component(s) exited during start-up: "
                    + ", ".join(f"{c.name} (code {c.process.returncode})" for c in dead)
                    + "\n"
                    + "\n".join(c.tail() for c in dead)
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"Airflow not healthy within {timeout:g}s ({last})\n{stack.logs()}")
            try:
                response = session.get(f"{stack.base_url}/api/v2/monitor/health", timeout=5)
                health = response.json() if response.ok else {}
                states = {
                    part: (health.get(part) or {}).get("status") for part in HEALTH_CHECKED
                }
                if all(state == "healthy" for state in states.values()):
                    return
                last = f"health: {states}"
            except requests.RequestException as error:
                last = f"{type(error).__name__}"
            time.sleep(0.5)


@contextlib.contextmanager
def local_airflow(
    sandbox: Any,
    work_dir: Path,
    *,
    api_port: int = 8080,
    job_schedule: bool = True,
    metadata_db: str | None = None,
    extra_env: dict[str, str] | None = None,
    on_phase: PhaseTimer | None = None,
    executor: str = "local",
) -> Iterator[LocalAirflow]:
    """The Airflow components on a running sandbox, healthy; everything stopped on exit.

    A PostgreSQL `metadata_db` is created when it does not exist yet. `executor="celery"` starts the
    Celery workers too (`bcsync_dev.celery_airflow.worker_specs`); `extra_env` must then hold the Celery
    stack's environment (`celery_airflow.celery_services`).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, not {executor!r}")

    def phase(name: str, started: float) -> None:
        if on_phase:
            on_phase(name, time.monotonic() - started)

    work_dir = Path(work_dir).resolve()
    (work_dir / "logs").mkdir(parents=True, exist_ok=True)
    if metadata_db and is_postgres(metadata_db):
        metadata_db = with_installed_driver(metadata_db).render_as_string(hide_password=False)
        ensure_database(metadata_db)
    env = {
        **server_environment(sandbox, work_dir, api_port, job_schedule=job_schedule, metadata_db=metadata_db),
        # The triggerer serves its logs on a port of its own: not the fixed default another stack has.
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_ports(1)[0]),
        **(extra_env or {}),
    }
    started = time.monotonic()
    migrate_airflow_db(env, work_dir / "logs" / "migrate.log")
    phase("airflow db migrate", started)
    stack = LocalAirflow(base_url=f"http://127.0.0.1:{api_port}", env=env, work_dir=work_dir, sandbox=sandbox)
    try:
        started = time.monotonic()
        for name, args in (
            ("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(api_port), "-w", "1"]),
            ("scheduler", ["scheduler"]),
            ("dag-processor", ["dag-processor"]),
            # Deferred tasks wait here, holding no worker slot (bcsync_full_sync's job runs).
            ("triggerer", ["triggerer"]),
        ):
            stack.components.append(start_component(name, args, env, stack.log_dir))
        if executor == "celery":
            stack.components += start_celery_workers(env, work_dir)
        servers = list(stack.components)
        # The pools are imported while the servers start: CPU is the start-up's bottleneck.
        pools = import_pools(env, work_dir)
        stack.components.append(pools)
        if pools.process.wait(STARTUP_TIMEOUT) != 0:
            raise RuntimeError(f"airflow pools import failed\n{pools.tail()}")
        wait_until_healthy(stack, servers)
        phase("components healthy", started)
        yield stack
    finally:
        started = time.monotonic()
        killed = stop_components(stack.components)
        phase("shutdown" + (f" (SIGKILL was needed for {killed})" if killed else ""), started)


def start_celery_workers(env: dict[str, str], work_dir: Path) -> list[Component]:
    """The Celery workers, each in its own working directory with its own name and task log folder."""
    from bcsync_dev.celery_airflow import worker_specs

    return [
        start_component(spec.name, spec.args(), spec.env(env), spec.log_dir, cwd=spec.work_dir)
        for spec in worker_specs(work_dir)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make airflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("BCSYNC_AIRFLOW_PORT", "8080")))
    parser.add_argument("--customers", type=int, default=200, help="seed size of a fresh sandbox")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument(
        "--metadata-db",
        default=os.environ.get("BCSYNC_AIRFLOW_DB_URL") or None,
        metavar="URL",
        help="Airflow's metadata database (default: SQLite in the work dir; PostgreSQL is needed for "
        "backfills), e.g. postgresql://postgres@127.0.0.1:5432/bcsync_airflow",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="celery: the CeleryExecutor with two workers, Redis as broker, the coupling store on "
        "PostgreSQL and staging on a local S3 API server (moto); needs a PostgreSQL --metadata-db "
        f"(default {CELERY_METADATA_DB})",
    )
    args = parser.parse_args(argv)
    if args.executor == "celery" and not args.metadata_db:
        args.metadata_db = CELERY_METADATA_DB

    from sandbox.launcher import running_sandbox

    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Starting the local services ({args.work_dir / 'sandbox'}) ...", flush=True)
    with running_sandbox(args.work_dir / "sandbox", seed_customers=args.customers, timeout=300) as sandbox:
        print(f"Starting Airflow ({args.executor} executor) ...", flush=True)
        try:
            with (
                _celery_services(args) as celery_env,
                local_airflow(
                    sandbox,
                    args.work_dir,
                    api_port=args.port,
                    metadata_db=args.metadata_db,
                    executor=args.executor,
                    extra_env=celery_env,
                ) as stack,
            ):
                print(
                    f"\nAirflow UI: {stack.base_url}  (no login: local use only)\n"
                    f"Airflow logs: {stack.log_dir}   Coupling store: {stack.store_url}\n"
                    f"Metadata database: {stack.metadata_db}\n"
                    "The bcsync DAGs are paused: unpause one to let it run every 30 minutes, or trigger it.\n"
                    "Ctrl-C stops everything.",
                    flush=True,
                )
                while all(c.alive() for c in stack.components if c.name != "pools-import"):
                    time.sleep(1)
                print("An Airflow component exited:\n" + stack.logs(), file=sys.stderr)
                return 1
        except KeyboardInterrupt:
            print("\nStopping ...", flush=True)
    return 0


@contextlib.contextmanager
def _celery_services(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    """The Celery stack's shared services for `--executor celery` (their environment), else nothing."""
    if args.executor != "celery":
        yield {}
        return
    from bcsync_dev.celery_airflow import celery_services

    if not is_postgres(args.metadata_db):
        raise SystemExit("--executor celery keeps Airflow's metadata (and Celery's results) on PostgreSQL")
    metadata_db = with_installed_driver(args.metadata_db).render_as_string(hide_password=False)
    ensure_database(metadata_db)
    with celery_services(args.work_dir.resolve(), metadata_db) as services:
        print(f"Celery broker: {services.broker_url}   S3 staging: {services.s3_endpoint}", flush=True)
        yield services.env


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM (docker stop, kill) ends the stack as Ctrl-C does."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
