"""The bodies of the DAG's tasks: read the Airflow context, call the pipeline step, return XCom values.

Imported lazily by the task callables, so parsing a DAG file never imports pandas, requests or the
store.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.services import Services
from bcsync.pipeline.staging import run_folder
from bcsync.pools import POOL_SIDES

LOAD_RESULT_KEY = "load_result"
TIME_MARKER = "bcsync code time"  # the line each task logs last; how long our part of the task took

log = logging.getLogger(__name__)
Step = TypeVar("Step", bound=Callable[..., Any])


def _timed(step: Step) -> Step:
    """Log the time spent in bcsync's code, so a task's duration splits into ours and Airflow's."""

    @functools.wraps(step)
    def timed(mapping_name: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(mapping_name, *args, **kwargs)
        finally:
            log.info(
                "%s: %s %s %.3f s", TIME_MARKER, mapping_name, step.__name__, time.perf_counter() - started
            )

    return timed  # type: ignore[return-value]


class RecordFailures(AirflowFailException):
    """Some records failed; the rest were written and everything was recorded.

    Not retried automatically: the failed records are picked up again by the next run (BC retries
    what failed last time), or at once when a user clears the task.
    """


def _setup(mapping_name: str) -> tuple[Any, RunContext, Services, Any]:
    context = get_current_context()
    run = RunContext.from_airflow(context)
    services = Services(max_in_flight=slots_held(context["task"]))
    mapping = services.registry.get(mapping_name)
    return mapping, run, services, run_folder(run.dag_id, run.run_id)


def slots_held(task: Any) -> dict[str, int]:
    """The service whose pool the task runs in, with the slots it holds: its requests in flight there."""
    side = POOL_SIDES.get(getattr(task, "pool", None) or "")
    return {side: task.pool_slots} if side else {}


@_timed
def extract(mapping_name: str, side: str) -> dict[str, Any]:
    from bcsync.pipeline.extract import extract as step

    mapping, run, services, folder = _setup(mapping_name)
    return step(mapping, Side(side), run, services, folder)


@_timed
def couple(mapping_name: str, extract_bc: dict, extract_crm: dict) -> dict[str, Any]:
    from bcsync.pipeline.couple import couple as step

    mapping, run, services, folder = _setup(mapping_name)
    return step(mapping, run, services, folder, {"bc": extract_bc, "crm": extract_crm})


@_timed
def transform(mapping_name: str, extract_bc: dict, extract_crm: dict, coupled: dict) -> dict[str, Any]:
    from bcsync.pipeline.transform import transform as step

    mapping, run, services, folder = _setup(mapping_name)
    return step(mapping, run, services, folder, {"bc": extract_bc, "crm": extract_crm}, coupled)


@_timed
def load(mapping_name: str, destination: str, transformed: dict) -> dict[str, Any]:
    """Apply the plan; when records failed, the result is kept and the task fails so the run is red."""
    from bcsync.pipeline.load import load as step

    mapping, run, services, folder = _setup(mapping_name)
    result = step(mapping, Side(destination), run, services, folder, transformed)
    get_current_context()["ti"].xcom_push(key=LOAD_RESULT_KEY, value=result)
    if result.get("failed"):
        raise RecordFailures(
            f"{result['failed']} record(s) failed in {mapping.name} {result['pass']}; the others were "
            "written. See the SYNC ERROR lines above; clear this task to retry them."
        )
    return result


@_timed
def record_job(mapping_name: str, extract_bc: dict | None, extract_crm: dict | None) -> dict[str, Any]:
    from bcsync.pipeline.record import record_job as step

    mapping, run, services, _ = _setup(mapping_name)
    context = get_current_context()
    ti = context["ti"]
    loads = {}
    for task_id in ("load_crm", "load_bc"):
        result = ti.xcom_pull(task_ids=task_id, key=LOAD_RESULT_KEY)
        if result and result.get("ran"):
            loads[result["pass"]] = result
    coupled = ti.xcom_pull(task_ids="couple")
    summary = step(mapping, run, services, {"bc": extract_bc or {}, "crm": extract_crm or {}}, loads, coupled)
    if not run.dry_run:
        from bcsync.dag_factory import job_asset

        for alias in context.get("outlets") or []:
            context["outlet_events"][alias].add(job_asset(mapping), extra=summary)
    return summary


@_timed
def job_status(mapping_name: str) -> None:
    """Fail the run when any record or load failed, so the run shows red like BC's job in Error.

    Runs last, after the job was recorded and its asset event emitted: the counters are kept either way.
    """
    ti = get_current_context()["ti"]
    summary = ti.xcom_pull(task_ids="record_job")
    if not summary:
        raise AirflowFailException(f"{mapping_name}: the job was not recorded; see the record_job task log")
    broken = [d for d, result in summary["directions"].items() if result.get("status") == "load failed"]
    if broken:
        raise AirflowFailException(
            f"{mapping_name}: loading failed for {', '.join(broken)}; see the load task logs"
        )
    if summary.get("failed"):
        raise AirflowFailException(
            f"{mapping_name}: {summary['failed']} record(s) failed; see SYNC ERROR lines in the load logs"
        )
