"""The real Airflow for end-to-end tests: `bcsync_dev.local_airflow` (what `make airflow` starts), tuned.

`airflow_stack()` builds one stack against a fresh sandbox in a temporary directory: api-server,
scheduler (LocalExecutor) and dag-processor on a free port, fast scheduler settings, the pools, and
waits until the DAGs the tests use are serialized. Airflow's metadata database is a throw-away
database on the PostgreSQL server of BCSYNC_TEST_POSTGRES_URL, as in production: on SQLite the API
answers "Database error" while the scheduler and the tasks write, and refuses backfills. The coupling
store stays bcsync's embedded default, SQLite. Optionally with the job schedule on (scheduled and
asset-triggered runs) and a mappings folder of the test's own (`BCSYNC_MAPPINGS_DIR`).

Timings of each phase are collected in `E2E_TIMINGS`; conftest.py prints them in pytest's summary.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from airflow_api import AirflowApi, AirflowApiError

from bcsync_dev.local_airflow import STARTUP_TIMEOUT, LocalAirflow, local_airflow
from bcsync_dev.local_postgres import DEFAULT_SERVER_URL, reachable, throwaway_database
from sandbox.launcher import RunningSandbox, free_ports, running_sandbox

E2E_TIMINGS: list[tuple[str, float]] = []
POSTGRES_SERVER = os.environ.get("BCSYNC_TEST_POSTGRES_URL", DEFAULT_SERVER_URL)

# Only what keeps the three processes quick on 2 cores; everything else is `make airflow`'s setting
# (`server_environment`: the supervisor's heartbeat, the scheduler's idle sleep, the forkserver).
QUICK_SCHEDULER = {
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",  # parse once; the files do not change
}


def record_timing(phase: str, seconds: float) -> None:
    E2E_TIMINGS.append((phase, seconds))


@dataclass
class AirflowStack:
    """A running local Airflow plus the REST client the tests drive it with."""

    airflow: LocalAirflow
    api: AirflowApi

    @property
    def sandbox(self) -> RunningSandbox:
        return self.airflow.sandbox

    @property
    def store_url(self) -> str:
        return self.airflow.store_url

    def logs(self) -> str:
        return self.airflow.logs()


def wait_for_dags(api: AirflowApi, dag_ids: tuple[str, ...], timeout: float = STARTUP_TIMEOUT) -> None:
    """Every DAG in `dag_ids` is serialized (GET /api/v2/dags/{id} answers)."""
    deadline = time.monotonic() + timeout
    pending = list(dag_ids)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"DAGs not parsed within {timeout:g}s: {pending}")
        try:
            while pending and api.get_dag(pending[0]) is not None:
                pending.pop(0)
        except (requests.RequestException, AirflowApiError):
            pass
        if pending:
            time.sleep(0.5)


@contextlib.contextmanager
def airflow_stack(
    work_dir: Path,
    dag_ids: tuple[str, ...],
    *,
    job_schedule: bool = False,
    mappings_dir: Path | None = None,
    label: str = "startup",
) -> Iterator[AirflowStack]:
    """A fresh sandbox and the three Airflow components on it, the DAGs parsed; all stopped after.

    `job_schedule=False` (the default): only the runs a test triggers or backfills happen; unpausing
    does not add scheduled runs of the 30-minute timetable.
    """
    unreachable = reachable(POSTGRES_SERVER)
    if unreachable:
        pytest.skip(f"the end-to-end tests keep Airflow's metadata on PostgreSQL; {unreachable}")
    started = time.monotonic()
    extra_env = dict(QUICK_SCHEDULER)
    if mappings_dir is not None:
        extra_env["BCSYNC_MAPPINGS_DIR"] = str(mappings_dir)
    with (
        running_sandbox(work_dir / "sandbox", seed_customers=20) as sandbox,
        throwaway_database(POSTGRES_SERVER, "bcsync_e2e_airflow") as metadata_db,
    ):
        record_timing(f"{label}: sandbox", time.monotonic() - started)
        (api_port,) = free_ports(1)
        with local_airflow(
            sandbox,
            work_dir,
            api_port=api_port,
            job_schedule=job_schedule,
            metadata_db=metadata_db.render_as_string(hide_password=False),
            extra_env=extra_env,
            on_phase=lambda phase, seconds: record_timing(f"{label}: {phase}", seconds),
        ) as airflow:
            api = AirflowApi(airflow.base_url)
            try:
                parse_started = time.monotonic()
                wait_for_dags(api, dag_ids)
                record_timing(f"{label}: DAGs serialized", time.monotonic() - parse_started)
                record_timing(f"{label}: total", time.monotonic() - started)
                yield AirflowStack(airflow, api)
            finally:
                api.close()
