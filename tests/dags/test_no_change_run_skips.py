"""A run without a changed candidate skips the couple, transform and load tasks and still records BC's
job (dag.test in a fresh process against the local services)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox

DAG_ID, TO_CRM = "bcsync_unitofmeasure", "ToIntegrationTable"
SKIPPED_TASKS = {"couple", "transform", "load_crm"}


def test_a_run_that_finds_nothing_skips_its_steps_and_records_the_job_with_zero_counters(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    sandbox.reset()
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        # A job whose seed records all synchronize (a failed record would be a candidate again), and
        # that reads BC after its watermark strictly (Sales' 1-second look-back re-reads its newest row).
        run_in_subprocess([DAG_ID], {"full_sync": True}, env, tmp_path / "full.log")
        dry = run_in_subprocess([DAG_ID], {"dry_run": True}, env, tmp_path / "dry.log")
        states = run_in_subprocess([DAG_ID], {}, env, tmp_path / "scheduled.log")
    finally:
        sandbox.reset()

    assert dry == {DAG_ID: "success"}
    assert states == {DAG_ID: "success"}
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = store.jobs("UNITOFMEASURE")
    store.dispose()
    full_run, last_run = jobs.sort_values("started_on")["run_id"].unique()[[0, -1]]
    # One job row for the run that went ahead (the dry run writes none), finished with zero counters.
    last = jobs[jobs["run_id"] == last_run]
    assert last["direction"].tolist() == [TO_CRM]
    counters = ["inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled"]
    assert last[counters].values.tolist() == [[0] * len(counters)]
    assert last["finished_on"].notna().all() and last["message"].isna().all()
    assert jobs["run_id"].nunique() == 2, "the dry run wrote a job row"

    task_states = _task_states(Path(env["AIRFLOW_HOME"]) / "airflow.db")
    full, dry_run, scheduled = task_states.values()  # in the order the runs were created
    assert full_run != last_run and set(full.values()) <= {"success", "failed"}
    for run in (dry_run, scheduled):
        assert {t for t, state in run.items() if state == "skipped"} == SKIPPED_TASKS, run
        ran = ("extract_bc", "extract_crm", "record_job", "job_status")  # job_status: the run is green
        assert {t: run[t] for t in ran} == dict.fromkeys(ran, "success"), run
    assert "bcsync code time: UNITOFMEASURE couple" in (tmp_path / "scheduled.log").read_text()


def _task_states(metadata_db: Path, dag_id: str = DAG_ID) -> dict[str, dict[str, str]]:
    """The job's task states per run, in the order the runs were created."""
    with closing(sqlite3.connect(metadata_db)) as db:
        rows = db.execute(
            "SELECT ti.run_id, ti.task_id, ti.state, dr.id FROM task_instance ti "
            "JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id "
            "WHERE ti.dag_id = ?",
            (dag_id,),
        ).fetchall()
    runs: dict[str, dict[str, str]] = {}
    for run_id, task_id, state, _ in sorted(rows, key=lambda row: row[3]):
        runs.setdefault(run_id, {})[task_id] = state
    return runs


def test_sales_rows_read_again_for_the_look_back_count_unchanged_without_planning(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    """Dataverse keeps seconds, so every scheduled run reads the newest Sales rows again (the
    one-second look-back). Already synced at that modified-on, they are Unchanged, as in BC, and the
    run skips planning and loading."""
    dag_id = "bcsync_salespeople"  # Sales → BC: its source is the side with the look-back
    sandbox.reset()
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        run_in_subprocess([dag_id], {"full_sync": True}, env, tmp_path / "full.log")
        states = run_in_subprocess([dag_id], {}, env, tmp_path / "scheduled.log")
    finally:
        sandbox.reset()

    assert states == {dag_id: "success"}
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = store.jobs("SALESPEOPLE").sort_values("started_on")
    couplings = store.couplings("SALESPEOPLE")
    store.dispose()
    newest = couplings["crm_synced_on"].max()
    in_look_back = int((couplings["crm_synced_on"] > newest - timedelta(milliseconds=999)).sum())
    last = jobs[jobs["run_id"] == jobs["run_id"].iloc[-1]]
    assert last["direction"].tolist() == ["FromIntegrationTable"]
    counters = ["inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled"]
    assert last[counters].values.tolist() == [[0, 0, 0, in_look_back, 0, 0, 0]]
    assert in_look_back >= 1

    runs = _task_states(Path(env["AIRFLOW_HOME"]) / "airflow.db", dag_id)
    scheduled = list(runs.values())[-1]
    skipped = {t for t, state in scheduled.items() if state == "skipped"}
    assert skipped == {"couple", "transform", "load_bc"}, scheduled
