"""Run bcsync DAGs in this process with Airflow's `dag.test()` (the demo and DAG tests use it).

`python -m bcsync_dev.local_runs [--conf JSON] DAG_ID...` runs the given DAGs one after another, each a
complete DAG run with every task, XCom, retries off and the task logs on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

STATES_PREFIX = "RUN STATES "

ROOT = Path(__file__).resolve().parents[2]  # include/bcsync_dev/… → the checkout
DAGS_FILE = ROOT / "dags" / "bcsync_jobs.py"


def airflow_settings(home: Path) -> dict[str, str]:
    """Airflow run from this checkout: its home, this checkout's DAGs and plugins, both import roots."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include")]),
    }


def airflow_environment(sandbox: Any, work_dir: Path) -> dict[str, str]:
    """Environment for Airflow and bcsync against a running sandbox, everything kept under `work_dir`:
    the connections (bc_default, dataverse_default, bcsync_store), AIRFLOW_HOME, DAG folder, staging."""
    from bcsync_dev.sandbox_connections import sandbox_connections

    home = work_dir / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **sandbox_connections(sandbox),
        **airflow_settings(home),
        "AIRFLOW_CONN_BCSYNC_STORE": f"sqlite:///{work_dir / 'store.db'}",
        "BCSYNC_STAGING_URL": f"file://{work_dir / 'staging'}",
    }


def migrate_airflow_db(env: dict[str, str], log_file: Path) -> None:
    """`airflow db migrate` for the metadata database of `env`'s AIRFLOW_HOME."""
    with log_file.open("w") as log:
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env={**os.environ, **env},
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def run_in_subprocess(
    dag_ids: list[str], conf: dict, env: dict[str, str], log_file: Path, dags: Path = DAGS_FILE
) -> dict[str, str]:
    """Run the DAGs of `dags` (a DAG file or folder) with `dag.test()` in a fresh process (its own
    Airflow settings); returns run states."""
    with log_file.open("w") as log:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bcsync_dev.local_runs",
                "--conf",
                json.dumps(conf),
                "--dags",
                str(dags),
                *dag_ids,
            ],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    for line in log_file.read_text().splitlines():
        if line.startswith(STATES_PREFIX):
            states = json.loads(line[len(STATES_PREFIX) :])
            return {dag_id: state.rsplit(".", 1)[-1].lower() for dag_id, state in states.items()}
    raise RuntimeError(f"the DAG runs did not complete; see {log_file}")


def load_dags(dags: Path = DAGS_FILE) -> dict:
    """The DAG objects of a DAG file or folder (dags/bcsync_jobs.py), imported as the DAG processor does."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags


def run(dag_ids: list[str], conf: dict | None = None, dags_path: Path = DAGS_FILE) -> dict[str, str]:
    """Run each DAG once; returns the final state of each run."""
    dags = load_dags(dags_path)
    states = {}
    for dag_id in dag_ids:
        dag_run = dags[dag_id].test(run_conf=conf or {})
        states[dag_id] = str(getattr(dag_run, "state", "unknown"))
    return states


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bcsync_dev.local_runs", description=__doc__)
    parser.add_argument("dag_ids", nargs="+")
    parser.add_argument("--conf", default="{}", help="run configuration (the trigger form's params) as JSON")
    parser.add_argument("--dags", type=Path, default=DAGS_FILE, help="DAG file or folder")
    args = parser.parse_args(argv)
    states = run(args.dag_ids, json.loads(args.conf), args.dags)
    print(STATES_PREFIX + json.dumps(states))
    return 0


if __name__ == "__main__":
    sys.exit(main())
