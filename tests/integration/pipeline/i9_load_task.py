"""One load task in a process of its own, as an Airflow worker runs it, so a test can SIGKILL it
mid-write: `python i9_load_task.py <job> <destination bc|crm> <dag_id> <run_id> <kind> <staging url>`.

Connections and the coupling store come from the environment (`AIRFLOW_CONN_*`), as on a worker.
"""

from __future__ import annotations

import sys

from airflow.sdk import ObjectStoragePath
from conftest import staged_plan

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.load import load
from bcsync.pipeline.services import Services


def main(job: str, destination: str, dag_id: str, run_id: str, kind: str, staging: str) -> None:
    services = Services()
    mapping = services.registry.get(job)
    run = RunContext(dag_id=dag_id, run_id=run_id, kind=RunKind(kind))
    folder, planned = staged_plan(mapping, run, ObjectStoragePath(staging))
    print("loading", flush=True)
    load(mapping, Side(destination), run, services, folder, planned)
    print("loaded", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
