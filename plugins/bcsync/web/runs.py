"""DAG runs started from bcsync's pages: a normal manual run, as Airflow's Trigger button creates it.

The pages run inside Airflow's API server, so they create the run with Airflow's own `trigger_dag`
(its metadata database, its Param validation), marked as triggered from the UI by the signed-in user,
with a note saying what was asked for. The run then shows in the DAG's history like any other; the
listener replaces the note with BC's counters when it finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bcsync.web.render import PageError, user_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartedRun:
    dag_id: str
    run_id: str


def start_run(dag_id: str, conf: dict[str, Any], *, note: str, user: Any) -> StartedRun:
    """Create a manual run of `dag_id` with `conf`; a DAG that is not there or a conf its Params refuse
    is a 400 naming the problem."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.exceptions import DagNotFound, ParamValidationError
    from airflow.utils.types import DagRunTriggeredByType

    name = user_name(user)
    try:
        run = trigger_dag(
            dag_id,
            triggered_by=DagRunTriggeredByType.UI,
            triggering_user_name=name,
            conf=conf,
            note=note,
        )
    except DagNotFound:
        raise PageError(400, f"There is no DAG {dag_id} in Airflow (is its file parsed?).") from None
    except (ParamValidationError, ValueError) as error:
        raise PageError(400, f"Airflow refused the run of {dag_id}: {_first_line(error)}") from None
    if run is None:
        raise PageError(400, f"Airflow did not create a run of {dag_id}.")
    log.info("bcsync: %s started %s run %s (%s) with %s", name, dag_id, run.run_id, note, conf)
    return StartedRun(dag_id, run.run_id)


def airflow_dags(dag_ids: Iterable[str]) -> dict[str, bool]:
    """Which of `dag_ids` Airflow has (parsed, not stale), each with whether it is paused."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    wanted = [d for d in dag_ids if d]
    if not wanted:
        return {}
    with create_session() as session:
        rows = session.execute(
            select(DagModel.dag_id, DagModel.is_paused).where(
                DagModel.dag_id.in_(wanted), DagModel.is_stale.is_(False)
            )
        )
        return {dag_id: bool(paused) for dag_id, paused in rows}


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
