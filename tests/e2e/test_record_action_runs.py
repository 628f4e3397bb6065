"""`bin/bcsync <action>` against the real Airflow: the command triggers the action's DAG run through the
REST API, the scheduler runs it, `--wait` prints its end and note, and the store holds the result."""

from __future__ import annotations

import os
import subprocess

import pytest
from e2e_stack import AirflowStack, wait_for_dags
from test_operations import run_job

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import ROOT

pytestmark = pytest.mark.e2e


def bcsync(stack: AirflowStack, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(ROOT / "bin" / "bcsync"),
            *argv,
            "--airflow-url",
            stack.airflow.base_url,
            "--wait",
            "--timeout",
            "150",
        ],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )


def test_uncouple_and_couple_back_from_the_command_line(airflow_stack: AirflowStack):
    wait_for_dags(airflow_stack.api, ("bcsync_uncouple", "bcsync_couple"))
    run_job(airflow_stack, "bcsync_currency", {"full_sync": True})
    store = CouplingStore(airflow_stack.store_url)
    try:
        before = len(store.couplings("CURRENCY"))

        uncoupled = bcsync(airflow_stack, "uncouple", "CURRENCY", "EUR")
        after_uncouple = len(store.couplings("CURRENCY"))
        coupled = bcsync(airflow_stack, "couple", "CURRENCY", "EUR", "--to", "EUR", "--sync-after", "To")

        assert uncoupled.returncode == 0, uncoupled.stdout + uncoupled.stderr
        assert ": success" in uncoupled.stdout and "Uncoupled 1" in uncoupled.stdout, uncoupled.stdout
        assert after_uncouple == before - 1
        assert coupled.returncode == 0, coupled.stdout + coupled.stderr
        assert "Coupled 1" in coupled.stdout and "Modified 1" in coupled.stdout, coupled.stdout
        assert len(store.couplings("CURRENCY")) == before
    finally:
        store.dispose()
