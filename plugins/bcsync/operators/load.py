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
    :param planned: the `PlanResult` (e.g. `transform.output`).
    """

    step_name = "load"
    template_fields: Sequence[str] = (*IntegrationStepOperator.template_fields, "planned")

    def __init__(self, *, destination: str, planned: Any, **kwargs: Any) -> None:
        if destination not in DESTINATIONS:
            raise ValueError(f"destination must be one of {DESTINATIONS}, not {destination!r}")
        pool = BC_POOL if destination == "bc" else DATAVERSE_POOL
        kwargs.setdefault("pool", pool)
        kwargs.setdefault("pool_slots", WRITE_SLOTS[pool])
        super().__init__(**kwargs)
        self.destination = destination
        self.planned = planned

    def run_step(self, step: Step) -> LoadResult:
        from bcsync.engine.model import Side
        from bcsync.pipeline.load import load

        planned = PlanResult.coerce(self.planned)
        if planned is None:
            raise ValueError(f"{step.mapping.name}: no plan to load")
        result = load(step.mapping, Side(self.destination), step.run, step.services, step.folder, planned)
        if result.ran:
            # Records of another job a table rule asks for after this pass (BC's follow-up syncs).
            from bcsync.engine.model import SyncPass
            from bcsync.pipeline.runner import run_follow_up

            run_follow_up(step.mapping, SyncPass(result.sync_pass), step.run, step.services, step.folder)
        if result.failed:
            # The result is the task's XCom even though the task fails: record_job counts it.
            step.context["ti"].xcom_push(key="return_value", value=result)
            raise RecordFailures(
                f"{result.failed} record(s) failed in {step.mapping.name} {result.sync_pass}; the others "
                "were written. See the SYNC ERROR lines above; clear this task to retry them."
            )
        return result
