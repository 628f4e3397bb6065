"""The real Airflow for end-to-end tests: api-server, scheduler (LocalExecutor) and dag-processor.

`airflow_stack()` (conftest.py's session fixture) builds one stack against a fresh sandbox: a
temporary AIRFLOW_HOME with a migrated SQLite metadata DB, the repo's dags/ and plugins/, bcsync's
environment from `airflow_environment`, the pools `bc_api` and `dataverse_api`, free ports, fast
scheduler settings. Every process started here runs in
its own process group and is stopped with SIGTERM, then SIGKILL, together with all its descendants
(task processes put themselves in their own groups), also when a test or the start-up fails.

Timings of each phase are collected in `E2E_TIMINGS`; conftest.py prints them in pytest's summary.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
from airflow_api import AirflowApi, AirflowApiError

from bcsync.local_runs import ROOT, airflow_environment, migrate_airflow_db
from sandbox.launcher import RunningSandbox, free_ports, running_sandbox

# Jobs the e2e tests run; startup waits until the DAG processor has serialized them.
E2E_DAG_IDS = ("bcsync_currency", "bcsync_salespeople", "bcsync_contact")
POOLS = {"bc_api": 5, "dataverse_api": 16}
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
E2E_TIMINGS: list[tuple[str, float]] = []


def record_timing(phase: str, seconds: float) -> None:
    E2E_TIMINGS.append((phase, seconds))


@contextlib.contextmanager
def timed(phase: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        record_timing(phase, time.monotonic() - started)


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
class AirflowStack:
    base_url: str
    env: dict[str, str]
    work_dir: Path
    sandbox: RunningSandbox
    api: AirflowApi
    components: list[Component] = field(default_factory=list)

    @property
    def store_url(self) -> str:
        return self.env["AIRFLOW_CONN_BCSYNC_STORE"]

    def logs(self) -> str:
        return "\n".join(c.tail() for c in self.components)


def stack_environment(sandbox: RunningSandbox, work_dir: Path, api_port: int) -> dict[str, str]:
    """bcsync's environment plus what makes a local three-process Airflow quick and self-contained."""
    base_url = f"http://127.0.0.1:{api_port}"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env = {
        **inherited,
        **airflow_environment(sandbox, work_dir),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",  # 2 cores: a few task processes at a time
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        # Shared by every component, so the scheduler's task tokens validate on the API server.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        # Only the runs a test triggers: unpausing must not add scheduled runs of the 30-minute timetable.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.25",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",  # parse once; the files do not change
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
    return env


def start_component(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Component:
    log_file = log_dir / f"{name}.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,  # own process group: one killpg reaches its workers
        )
    return Component(name, process, log_file)


def stop_components(components: list[Component], timeout: float = STOP_TIMEOUT) -> list[str]:
    """SIGTERM every process group and descendant, SIGKILL what is left; returns what needed SIGKILL.

    Descendants are collected first: task processes call setpgid() and would escape a killpg.
    """
    targets: list[psutil.Process] = []
    for component in components:
        try:
            root = psutil.Process(component.process.pid)
            targets += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    for component in components:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(component.process.pid, signal.SIGTERM)
    for proc in targets:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(targets, timeout=timeout)
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


def wait_until_ready(
    api: AirflowApi, components: list[Component], started_at: float, timeout: float = STARTUP_TIMEOUT
) -> None:
    """The API answers /api/v2/version and every e2e DAG is serialized (GET /api/v2/dags/{id})."""
    deadline = time.monotonic() + timeout
    pending_dags = list(E2E_DAG_IDS)
    api_up = False
    while True:
        dead = [c for c in components if not c.alive()]
        if dead:
            raise RuntimeError(
                "Airflow component(s) exited during start-up: "
                + ", ".join(f"{c.name} (code {c.process.returncode})" for c in dead)
                + "\n"
                + "\n".join(c.tail() for c in dead)
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Airflow not ready within {timeout:g}s (API up: {api_up}, DAGs not parsed: {pending_dags})\n"
                + "\n".join(c.tail() for c in components)
            )
        try:
            if not api_up:
                api.version()
                api_up = True
                record_timing("startup: api-server answers /api/v2/version", time.monotonic() - started_at)
            while pending_dags and api.get_dag(pending_dags[0]) is not None:
                pending_dags.pop(0)
            if not pending_dags:
                return
        except (requests.RequestException, AirflowApiError):
            pass
        time.sleep(0.5)


@contextlib.contextmanager
def airflow_stack(work_dir: Path) -> Iterator[AirflowStack]:
    """A sandbox and the three Airflow components on it, ready (DAGs parsed); everything stopped after."""
    log_dir = work_dir / "logs"
    log_dir.mkdir()
    started = time.monotonic()
    with running_sandbox(work_dir / "sandbox", seed_customers=20) as sandbox:
        record_timing("startup: sandbox", time.monotonic() - started)
        (api_port,) = free_ports(1)
        env = stack_environment(sandbox, work_dir, api_port)
        with timed("startup: airflow db migrate"):
            migrate_airflow_db(env, log_dir / "migrate.log")
        api = AirflowApi(f"http://127.0.0.1:{api_port}")
        stack = AirflowStack(base_url=api.base_url, env=env, work_dir=work_dir, sandbox=sandbox, api=api)
        try:
            components_started = time.monotonic()
            for name, args in (
                ("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(api_port), "-w", "1"]),
                ("scheduler", ["scheduler"]),
                ("dag-processor", ["dag-processor"]),
            ):
                stack.components.append(start_component(name, args, env, log_dir))
            # `airflow pools import` (one CLI process for both pools, what `airflow pools set` does per
            # pool) runs while the components start: CPU is the start-up's bottleneck on 2 cores.
            pools_file = work_dir / "pools.json"
            pools_file.write_text(
                json.dumps(
                    {
                        name: {"slots": slots, "description": f"bcsync {name}", "include_deferred": False}
                        for name, slots in POOLS.items()
                    }
                )
            )
            pools = start_component("pools-import", ["pools", "import", str(pools_file)], env, log_dir)
            stack.components.append(pools)
            if pools.process.wait(STARTUP_TIMEOUT) != 0:
                raise RuntimeError(f"airflow pools import failed\n{pools.tail()}")
            servers = [c for c in stack.components if c is not pools]
            wait_until_ready(api, servers, components_started)
            record_timing("startup: components ready (DAGs parsed)", time.monotonic() - components_started)
            record_timing("startup: total", time.monotonic() - started)
            yield stack
        finally:
            api.close()
            with timed("shutdown: airflow components"):
                killed = stop_components(stack.components)
            if killed:
                record_timing(f"shutdown: SIGKILL was needed for {killed}", 0.0)
