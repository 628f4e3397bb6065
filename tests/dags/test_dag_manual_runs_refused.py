"""Manual runs that cannot do what they ask: never a green run that did nothing (dag.test in a fresh
process against the local services)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox


def test_one_way_job_triggered_for_the_other_direction_logs_bcs_job_message(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    env = airflow_environment(sandbox, tmp_path)
    migrate_airflow_db(env, tmp_path / "migrate.log")
    conf = {"direction": "ToIntegrationTable"}
    states = run_in_subprocess(["bcsync_salespeople"], conf, env, tmp_path / "runs.log")

    assert states == {"bcsync_salespeople": "success"}
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = store.jobs("SALESPEOPLE")
    store.dispose()
    assert jobs[["direction", "message", "inserted", "modified", "failed"]].values.tolist() == [
        [
            "ToIntegrationTable",
            "The Integration Table Mapping SALESPEOPLE is not configured for ToIntegrationTable "
            "synchronization.",
            0,
            0,
            0,
        ]
    ]


def test_synchronize_now_with_an_id_of_no_record_of_the_job_fails_the_run_naming_it(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    env = airflow_environment(sandbox, tmp_path)
    migrate_airflow_db(env, tmp_path / "migrate.log")
    stranger = "0f8fad5b-d9cb-469f-a165-70867728950e"
    states = run_in_subprocess(["bcsync_currency"], {"record_ids": [stranger]}, env, tmp_path / "runs.log")

    assert states == {"bcsync_currency": "failed"}
    log = (tmp_path / "runs.log").read_text()
    assert f"Synchronize Now: {stranger} is not the id of a Currency in Business Central" in log
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = store.jobs("CURRENCY")
    store.dispose()
    assert jobs["message"].str.startswith(f"Synchronize Now: {stranger} is not the id").all()
    assert len(jobs) == 1
