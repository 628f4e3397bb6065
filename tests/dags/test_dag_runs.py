"""Real DAG runs (Airflow's dag.test in a fresh process) against the local services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox


def test_full_sync_dag_runs_record_the_job_and_a_run_with_failed_records_ends_red(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    sandbox.reset()  # the session's sandbox, at its seed; reset again after for the tests that follow
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        states = run_in_subprocess(
            ["bcsync_salespeople", "bcsync_currency"], {"full_sync": True}, env, tmp_path / "runs.log"
        )
    finally:
        sandbox.reset()
    # The seed gives CHF no exchange rate in BC: that record fails, so CURRENCY's run is red.
    assert states == {"bcsync_salespeople": "success", "bcsync_currency": "failed"}
    log = (tmp_path / "runs.log").read_text()
    assert "SYNC ERROR job=CURRENCY direction=ToIntegrationTable" in log
    assert "Cannot create or update the currency CHF in Dynamics 365 Sales" in log

    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = store.jobs().set_index("mapping")
    assert jobs.loc["CURRENCY", "failed"] == 1
    assert jobs.loc["CURRENCY", "inserted"] + jobs.loc["CURRENCY", "unchanged"] > 0
    assert jobs.loc["SALESPEOPLE", "failed"] == 0
    store.dispose()
