"""Run bcsync DAGs in this process with Airflow's `dag.test()` (the demo and DAG tests use it).

`python -m bcsync.local_runs [--conf JSON] DAG_ID...` runs the given DAGs one after another, each a
complete DAG run with every task, XCom, retries off and the task logs on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DAGS_FILE = Path(__file__).resolve().parents[2] / "dags" / "bcsync_jobs.py"


def load_dags() -> dict:
    """The DAG objects of dags/bcsync_jobs.py, imported the way the DAG processor does."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FILE))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags


def run(dag_ids: list[str], conf: dict | None = None) -> dict[str, str]:
    """Run each DAG once; returns the final state of each run."""
    dags = load_dags()
    states = {}
    for dag_id in dag_ids:
        dag_run = dags[dag_id].test(run_conf=conf or {})
        states[dag_id] = str(getattr(dag_run, "state", "unknown"))
    return states


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bcsync.local_runs", description=__doc__)
    parser.add_argument("dag_ids", nargs="+")
    parser.add_argument("--conf", default="{}", help="run configuration (the trigger form's params) as JSON")
    args = parser.parse_args(argv)
    states = run(args.dag_ids, json.loads(args.conf))
    print("RUN STATES " + json.dumps(states))
    return 0


if __name__ == "__main__":
    sys.exit(main())
