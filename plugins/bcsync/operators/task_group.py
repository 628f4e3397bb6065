"""IntegrationSyncTaskGroup: one integration table mapping's synchronization as a group of tasks.

    extract_bc ─┐                       ┌─────────────────────────┐
                ├─ couple ─ transform ─┤                         ├─ record_job ─ job_status
    extract_crm ┘                       └ load_crm[i] ─ load_bc[i] ┘

A bidirectional job loads Sales (the To pass) before BC (the From pass), as BC runs them: a record the
To pass marks Skipped is Skipped in the From pass too. Each load is mapped over the plan's partitions
(`[i]`: one task instance per at most `partition_size` records, one in the runs users have every 30
minutes); every partition of the To pass is done before the From pass starts.

Every bcsync job's DAG is this group and nothing else; users put it in their own DAGs the same way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import TaskGroup, TriggerRule

from bcsync.operators.base import DEFAULT_STORE_CONN_ID
from bcsync.operators.couple import CoupleOperator
from bcsync.operators.extract import ExtractOperator
from bcsync.operators.job_status import JobStatusOperator
from bcsync.operators.load import LoadOperator
from bcsync.operators.plan import PlanOperator
from bcsync.operators.record_job import RecordJobOperator

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from bcsync.registry.model import IntegrationTableMapping

# BC's job queue defaults ("Maximum No. of Attempts to Run" 10, "Rerun Delay" 30 s) for a mapping
# without a schedule of its own.
DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_RERUN_DELAY = timedelta(seconds=30)


class IntegrationSyncTaskGroup(TaskGroup):
    """The tasks that synchronize one mapping: extract each side, couple, plan ("transform"), load
    each destination of the mapping's direction, record the job, and fail the run if records failed.

    :param mapping: an `IntegrationTableMapping`, or its name in the mapping registry (read when the
        DAG file is parsed: the YAML files only).
    :param group_id: the group's id; default the mapping's job code in lower case (`customer`).
    :param bc_conn_id: see `IntegrationStepOperator`; likewise `dataverse_conn_id`, `store_conn_id`,
        `staging_url`.
    :param job_asset: an asset that gets an event with the counters when the job is recorded.
    :param task_group_kwargs: passed on to `TaskGroup` (e.g. `prefix_group_id`, `tooltip`).

    Each task retries as BC's job queue entry would rerun the job: `schedule.max_attempts` attempts
    (retries = attempts - 1), `schedule.rerun_delay` apart. Record failures, a refused connection or a
    wrong mapping are not retried: they need a fix first.
    """

    def __init__(
        self,
        mapping: str | IntegrationTableMapping,
        *,
        group_id: str | None = None,
        bc_conn_id: str = "bc_default",
        dataverse_conn_id: str = "dataverse_default",
        store_conn_id: str = DEFAULT_STORE_CONN_ID,
        staging_url: str | None = None,
        job_asset: Asset | None = None,
        **task_group_kwargs: Any,
    ) -> None:
        mapping = _resolve(mapping)
        default_args = {**retries_of(mapping), **task_group_kwargs.pop("default_args", {})}
        super().__init__(
            group_id=group_id or _default_group_id(mapping),
            default_args=default_args,
            tooltip=task_group_kwargs.pop("tooltip", "") or f"{mapping.name}: {_route(mapping)}",
            **task_group_kwargs,
        )
        common = {
            "mapping": mapping,
            "bc_conn_id": bc_conn_id,
            "dataverse_conn_id": dataverse_conn_id,
            "store_conn_id": store_conn_id,
            "staging_url": staging_url,
        }
        with self:
            extract_bc = ExtractOperator(task_id="extract_bc", side="bc", **common)
            extract_crm = ExtractOperator(task_id="extract_crm", side="crm", **common)
            sides = {"bc_extract": extract_bc.output, "crm_extract": extract_crm.output}
            couple = CoupleOperator(task_id="couple", **sides, **common)
            plan = PlanOperator(task_id="transform", coupled=couple.output, **sides, **common)
            # One load task instance per partition of the plan (dynamic task mapping): a large load
            # runs on several workers at once, within the pools.
            loads = []
            if mapping.direction.to_crm:
                loads.append(
                    LoadOperator.partitioned(
                        task_id="load_crm", destination="crm", planned=plan.output, **common
                    )
                )
            if mapping.direction.to_bc:
                # After every partition of the To pass, whether or not some of its records failed.
                after_to_pass = {"trigger_rule": TriggerRule.ALL_DONE_MIN_ONE_SUCCESS} if loads else {}
                load_bc = LoadOperator.partitioned(
                    task_id="load_bc", destination="bc", planned=plan.output, **after_to_pass, **common
                )
                if loads:
                    loads[0] >> load_bc
                loads.append(load_bc)
            record = RecordJobOperator(
                task_id="record_job",
                coupled=couple.output,
                loads=[load.output for load in loads],
                job_asset=job_asset,
                **sides,
                **common,
            )
            JobStatusOperator(task_id="job_status", job=record.output, **common)


def retries_of(mapping: IntegrationTableMapping) -> dict[str, Any]:
    """Task retries from the mapping's job queue settings (BC reruns a failed job after a fixed delay)."""
    schedule = mapping.schedule
    attempts = schedule.max_attempts if schedule else DEFAULT_MAX_ATTEMPTS
    delay = schedule.rerun_delay if schedule else DEFAULT_RERUN_DELAY
    return {"retries": attempts - 1, "retry_delay": delay}


def _resolve(mapping: str | IntegrationTableMapping) -> IntegrationTableMapping:
    if not isinstance(mapping, str):
        return mapping
    from bcsync.registry import load_registry

    return load_registry().get(mapping)


def _default_group_id(mapping: IntegrationTableMapping) -> str:
    return (mapping.dag_id or mapping.name.lower()).removeprefix("bcsync_")


def _route(mapping: IntegrationTableMapping) -> str:
    return f"{mapping.bc_table} {mapping.direction.arrow} {mapping.crm_entity}"
