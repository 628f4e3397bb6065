"""JobStatusOperator: the run ends red when a load failed or records failed, as BC's job in Error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import TriggerRule
from airflow.sdk.exceptions import AirflowFailException

from bcsync.operators.base import IntegrationStepOperator, Step
from bcsync.results import JobResult


class JobStatusOperator(IntegrationStepOperator):
    """Fail when the job was not recorded, a load failed or records failed; runs last, after the job
    was recorded and its event emitted, so the counters are kept either way.

    :param job: the `JobResult` (e.g. `record_job.output`).
    """

    step_name = "job_status"
    template_fields: Sequence[str] = (*IntegrationStepOperator.template_fields, "job")

    def __init__(self, *, job: Any, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", TriggerRule.ALL_DONE)
        super().__init__(**kwargs)
        self.job = job

    def run_step(self, step: Step) -> None:
        check_job(step.mapping.name, JobResult.coerce(self.job))


def check_job(name: str, job: JobResult | None) -> None:
    if job is None:
        raise AirflowFailException(f"{name}: the job was not recorded; see the record_job task log")
    broken = [d for d, result in job.directions.items() if result.load_failed]
    if broken:
        raise AirflowFailException(f"{name}: loading failed for {', '.join(broken)}; see the load task logs")
    if job.failed:
        raise AirflowFailException(
            f"{name}: {job.failed} record(s) failed; see SYNC ERROR lines in the load logs"
        )
