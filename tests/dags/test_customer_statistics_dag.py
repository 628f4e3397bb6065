"""bcsync_customer_statistics: its shape, and a real run (dag.test in a fresh process) after CUSTOMER."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox
from tests.sandbox_data import dataverse_rows

DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_the_statistics_dag_runs_both_parts_of_bcs_job_bc_to_sales_only() -> None:
    dag = DagBag(dag_folder=str(DAGS)).dags["bcsync_customer_statistics"]
    statistics = {"extract_bc", "extract_crm", "couple", "transform", "load_crm", "record_job", "job_status"}
    payments = {f"INVOICE_PAYMENT_STATUS.{task}" for task in statistics}
    assert set(dag.task_ids) == statistics | payments
    assert dag.get_task("INVOICE_PAYMENT_STATUS.load_crm").retries == 1  # the job's 2 attempts
    full_sync = DagBag(dag_folder=str(DAGS)).dags["bcsync_full_sync"]
    # BC's statistics job runs after CUSTOMER and after the invoices whose payment status it sets.
    assert full_sync.get_task("full_sync_customer_statistics").upstream_task_ids == {
        "full_sync_customer",
        "full_sync_postedsalesinv_inv",
    }


def test_a_run_after_customer_gives_every_coupled_account_its_statistics(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
) -> None:
    sandbox.reset()
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        jobs = ["bcsync_salespeople", "bcsync_currency", "bcsync_customer"]
        run_in_subprocess(jobs, {"full_sync": True}, env, tmp_path / "sync.log")
        states = run_in_subprocess(["bcsync_customer_statistics"], {}, env, tmp_path / "runs.log")
        statistics = dataverse_rows(sandbox, "nav_accountstatistics")
        linked = {a["_nav_accountstatisticsid_value"] for a in dataverse_rows(sandbox, "account")}
    finally:
        sandbox.reset()
    assert states == {"bcsync_customer_statistics": "success"}
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        customers = store.couplings("CUSTOMER")
        coupled = int((~customers["skipped"].astype(bool)).sum())
        jobs = store.jobs().set_index("mapping")
        assert jobs.loc["CUSTOMER STATISTICS", "inserted"] == coupled > 0
        assert jobs.loc["INVOICE PAYMENT STATUS", "failed"] == 0  # its job row, nothing coupled yet
    finally:
        store.dispose()
    assert len(statistics) == coupled
    assert {s["nav_accountstatisticsid"] for s in statistics} <= linked
