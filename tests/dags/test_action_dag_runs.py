"""Manual record actions as real DAG runs (Airflow's dag.test in a fresh process) on the local services:
the run's state, what the services and the store hold after it, and the note with the counters."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import ROOT, airflow_environment, load_dags, run_in_subprocess
from sandbox.launcher import RunningSandbox

ACTIONS_FILE = ROOT / "dags" / "bcsync_actions.py"


def test_each_action_has_a_dag_with_its_params_and_a_status_check():
    dags = load_dags(ACTIONS_FILE)

    assert sorted(dags) == [
        "bcsync_couple",
        "bcsync_create_new",
        "bcsync_delete_coupled_record",
        "bcsync_delete_coupling",
        "bcsync_match_couple",
        "bcsync_restore",
        "bcsync_uncouple",
    ]
    couple = dags["bcsync_couple"]
    assert set(couple.params) == {"job", "records", "counterpart", "side", "synchronize_after", "direction"}
    assert [t.task_id for t in couple.tasks] == ["run_action", "action_status"]
    assert "CUSTOMER" in couple.params.get_param("job").schema["enum"]


def notes(env: dict[str, str]) -> dict[str, str]:
    with closing(sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")) as db:
        rows = db.execute(
            "SELECT dag_run.dag_id, dag_run_note.content FROM dag_run "
            "JOIN dag_run_note ON dag_run_note.dag_run_id = dag_run.id"
        ).fetchall()
    return dict(rows)


@pytest.mark.timeout(900)  # three Airflow processes in a row, each seconds of start-up on a busy machine
def test_uncouple_then_couple_with_synchronize_after_as_dag_runs(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    sandbox.reset()
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        loaded = run_in_subprocess(["bcsync_currency"], {"full_sync": True}, env, tmp_path / "load.log")
        assert loaded == {"bcsync_currency": "failed"}  # CHF has no exchange rate in the seed
        store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
        before = len(store.couplings("CURRENCY"))

        uncoupled = run_in_subprocess(
            ["bcsync_uncouple"],
            {"job": "CURRENCY", "records": ["EUR", "XXX"]},
            env,
            tmp_path / "uncouple.log",
            ACTIONS_FILE,
        )
        after_uncouple = len(store.couplings("CURRENCY"))
        coupled = run_in_subprocess(
            ["bcsync_couple"],
            {"job": "CURRENCY", "records": ["EUR"], "counterpart": "EUR", "synchronize_after": True,
             "direction": "ToIntegrationTable"},
            env,
            tmp_path / "couple.log",
            ACTIONS_FILE,
        )  # fmt: skip
    finally:
        sandbox.reset()

    # XXX names no currency: it fails alone (the run is red), EUR is uncoupled all the same.
    assert (uncoupled, coupled) == ({"bcsync_uncouple": "failed"}, {"bcsync_couple": "success"})
    assert after_uncouple == before - 1
    assert (
        "No Business Central Currency or Sales transactioncurrency record is known as 'XXX'."
        in (tmp_path / "uncouple.log").read_text()
    )
    couplings = store.couplings("CURRENCY")
    assert len(couplings) == before and (couplings["coupled_by"] == "manual").sum() == 1
    jobs = store.jobs("CURRENCY").set_index("type")
    assert (jobs.loc["uncoupling", "uncoupled"], jobs.loc["uncoupling", "failed"]) == (1, 1)
    assert jobs.loc["coupling", "coupled"] == 1
    assert jobs.loc["manual", "modified"] == 1  # synchronized after coupling, BC → Sales
    store.dispose()
    written = notes(env)
    assert written["bcsync_uncouple"].startswith("ToIntegrationTable: Inserted 0 · Modified 0")
    assert "Uncoupled 1" in written["bcsync_uncouple"] and "Failed 1" in written["bcsync_uncouple"]
    assert "Coupled 1" in written["bcsync_couple"] and "Modified 1" in written["bcsync_couple"]
    assert "bcsync: EUR is now coupled to Sales transactioncurrency" in written["bcsync_couple"]
