"""The invoice job's DAG run for real (Airflow's dag.test in a fresh process) against the local services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sandbox_data import dataverse_rows

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox


@pytest.mark.timeout(900)  # three DAG runs in a fresh process, the sell-to customers synchronized first
def test_invoice_dag_sends_invoices_with_their_lines_after_its_dependencies(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    sandbox.reset()
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        dags = ["bcsync_salespeople", "bcsync_currency", "bcsync_postedsalesinv_inv"]
        states = run_in_subprocess(dags, {"full_sync": True}, env, tmp_path / "runs.log")
        invoices = dataverse_rows(sandbox, "invoice")
        lines = dataverse_rows(sandbox, "invoicedetail")
    finally:
        sandbox.reset()
    # Invoices with an uncoupled resource or salesperson fail (as CHF fails CURRENCY): both runs end red.
    assert states["bcsync_salespeople"] == "success"
    assert states["bcsync_postedsalesinv_inv"] == "failed"
    log = (tmp_path / "runs.log").read_text()
    assert "SYNC ERROR job=POSTEDSALESINV-INV" in log

    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        jobs = store.jobs()
        invoice_job = jobs[jobs["mapping"] == "POSTEDSALESINV-INV"].iloc[0]
        couplings = store.couplings("POSTEDSALESINV-INV")
        line_couplings = store.couplings("POSTEDSALESLINE-INV")
        # The sell-to customers were synchronized first, in a CUSTOMER job of their own.
        assert (jobs.loc[jobs["mapping"] == "CUSTOMER", "type"] == "manual").any()
    finally:
        store.dispose()
    assert invoice_job["inserted"] == len(couplings) > 0 and invoice_job["failed"] > 0
    sent = set(couplings["crm_id"])
    assert sent <= {r["invoiceid"] for r in invoices}
    assert len(line_couplings) == len([r for r in lines if r["_invoiceid_value"] in sent]) > 0
