"""A bidirectional job's DAG loads the To pass, then the From pass, as BC runs them (dag.test in a fresh
process against the local services)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox

TO_CRM, FROM_CRM = "ToIntegrationTable", "FromIntegrationTable"


def test_from_pass_loads_after_the_to_pass_also_when_records_of_the_to_pass_failed(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    sandbox.reset()
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        dags = ["bcsync_salespeople", "bcsync_currency", "bcsync_customer"]
        states = run_in_subprocess(dags, {"full_sync": True}, env, tmp_path / "runs.log")
    finally:
        sandbox.reset()
    # Customers whose salesperson has no Sales user fail in the To pass: load_crm fails, load_bc runs.
    assert states["bcsync_customer"] == "failed"
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = store.jobs("CUSTOMER").set_index("direction")
    store.dispose()
    assert jobs.loc[TO_CRM, "failed"] > 0
    assert jobs.loc[FROM_CRM, "inserted"] > 0, "the From pass wrote BC although the To pass had failures"
    assert jobs.loc[TO_CRM, "started_on"] < jobs.loc[FROM_CRM, "started_on"], "the To pass first"
