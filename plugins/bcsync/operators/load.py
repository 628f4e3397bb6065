"""LoadOperator: apply one pass's plan to its destination and record couplings, results and errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from bcsync.operators.base import IntegrationStepOperator, Step
from bcsync.pools import BC_POOL, DATAVERSE_POOL, WRITE_SLOTS
from bcsync.results import LoadResult, PlanResult

DESTINATIONS = ("bc", "crm")


class RecordFailures(AirflowFailException):
    """Some records failed; the rest were written and everything was recorded.

    Not retried automatically: the failed records are picked up again by the next run (BC retries
    what failed last time), or at once when a user clears the task.
    """


class LoadOperator(IntegrationStepOperator):
    """Write one pass's plan in bulk to its destination; returns a `LoadResult`.

    A record the service refuses fails alone (a `SYNC ERROR` line in the log and a row in the error
    store); when any failed, the result is still pushed as the task's XCom and the task fails, so the
    run is red and the job is recorded. A retried or cleared task leaves what earlier tries settled
    alone and plans the rest again from fresh reads, never writing a record twice.

    :param destination: "crm" (the ToIntegrationTable pass) or "bc" (FromIntegrationTable). Runs in
        that service's pool with the slots of its bulk requests in flight (`bcsync.pools`).
    :param planned: the `PlanResult`, or the transform task's list of them, one per partition: mapped
        over it (`LoadOperator.partitioned`), each task instance loads one partition; given the whole
        list, the task loads the partitions one after the other.
    """

    step_name = "load"
    template_fields: Sequence[str] = (*IntegrationStepOperator.template_fields, "planned")

    def __init__(self, *, destination: str, planned: Any, **kwargs: Any) -> None:
        for name, value in pool_of(destination).items():
            kwargs.setdefault(name, value)
        super().__init__(**kwargs)
        self.destination = destination
        self.planned = planned

    @classmethod
    def partitioned(cls, *, task_id: str, destination: str, planned: Any, **kwargs: Any) -> Any:
        """The pass's load as one task instance per partition of the plan (dynamic task mapping over
        the transform task's list), each in the destination's pool."""
        return cls.partial(
            task_id=task_id, destination=destination, **pool_of(destination), **kwargs
        ).expand(planned=planned)

    def run_step(self, step: Step) -> LoadResult:
        from bcsync.engine.model import Side, SyncPass
        from bcsync.pipeline.load import load_partitions

        plans = PlanResult.coerce_all(self.planned)
        if not plans:
            raise ValueError(f"{step.mapping.name}: no plan to load")
        side = Side(self.destination)
        result = load_partitions(step.mapping, side, step.run, step.services, step.folder, plans)
        if result.ran and result.partitions == 1:
            # Records of another job a table rule asks for after this pass (BC's follow-up syncs);
            # such a pass is never split, so this runs once per pass.
            from bcsync.pipeline.runner import run_follow_up

            run_follow_up(step.mapping, SyncPass(result.sync_pass), step.run, step.services, step.folder)
        if result.failed:
            # The result is the task's XCom even though the task fails: record_job counts it.
            step.context["ti"].xcom_push(key="return_value", value=result)
            part = f" (partition {result.partition + 1} of {result.partitions})" * (result.partitions > 1)
            raise RecordFailures(
                f"{result.failed} record(s) failed in {step.mapping.name} {result.sync_pass}{part}; the "
                "others were written. See the SYNC ERROR lines above; clear this task to retry them."
            )
        return result


def pool_of(destination: str) -> dict[str, Any]:
    """The pool a load into `destination` runs in, and the slots its bulk requests in flight hold."""
    if destination not in DESTINATIONS:
        raise ValueError(f"destination must be one of {DESTINATIONS}, not {destination!r}")
    pool = BC_POOL if destination == "bc" else DATAVERSE_POOL
    return {"pool": pool, "pool_slots": WRITE_SLOTS[pool]}

