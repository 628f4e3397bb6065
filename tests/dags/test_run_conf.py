"""A real DAG run (Airflow's dag.test in a fresh process) triggered with a conf key that is no Param."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox


def test_a_misspelt_conf_key_fails_the_run_instead_of_running_a_scheduled_sync(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    env = airflow_environment(sandbox, tmp_path)
    migrate_airflow_db(env, tmp_path / "migrate.log")
    states = run_in_subprocess(["bcsync_currency"], {"fullsync": True}, env, tmp_path / "runs.log")

    assert states == {"bcsync_currency": "failed"}
    log = (tmp_path / "runs.log").read_text()
    assert "Unknown key(s) in the run's conf: fullsync. This DAG's Params are: " in log
    assert "full_sync" in log.split("This DAG's Params are: ", 1)[1].splitlines()[0]
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    assert store.jobs().empty, "nothing was synchronized"
    store.dispose()
