"""RecordJobOperator: BC's job rows, the watermarks, and the job's completion event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias, TriggerRule

from bcsync.operators.base import IntegrationStepOperator, Step
from bcsync.operators.couple import extracts, nothing_to_sync
from bcsync.results import CoupleResult, ExtractResult, JobResult, merge_loads

if TYPE_CHECKING:
    from bcsync.engine.model import Side


class RecordJobOperator(IntegrationStepOperator):
    """Finish the job row of each pass with BC's counters and move the watermarks of the passes whose
    load succeeded; returns a `JobResult` (the run note is written from it).

    Runs when the loads are done, whether they succeeded or not (a failed load is logged as a
    finished job with the reason, and keeps its watermark). When the couple step was skipped because
    no pass had a candidate, the job is recorded with zero counters, as after loads of empty plans.

    :param bc_extract: the BC `ExtractResult`.
    :param crm_extract: the Dataverse `ExtractResult`.
    :param coupled: the `CoupleResult` (pairs coupled by matching count in the job log).
    :param loads: the `LoadResult`s (e.g. `[load_crm.output, load_bc.output]`; a mapped load's output
        is the list of its partitions' results, added up per pass); a load task that failed without a
        result gives None, and a pass with a partition without a result counts as a failed load.
    :param job_asset: an asset to add an event to when the job is recorded, with the counters as its
        extra (not in dry runs), so other DAGs can be scheduled on the job's completion.
    """

    step_name = "record_job"
    template_fields: Sequence[str] = (
        *IntegrationStepOperator.template_fields,
        "bc_extract",
        "crm_extract",
        "coupled",
        "loads",
    )

    def __init__(
        self,
        *,
        bc_extract: Any,
        crm_extract: Any,
        coupled: Any,
        loads: Sequence[Any],
        job_asset: Asset | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", TriggerRule.ALL_DONE)
        if job_asset is not None:
            # Through an alias the task decides: a dry run adds no event, so it starts no other DAG.
            kwargs.setdefault("outlets", [job_events(job_asset)])
        super().__init__(**kwargs)
        self.bc_extract = bc_extract
        self.crm_extract = crm_extract
        self.coupled = coupled
        self.loads = list(loads)
        self.job_asset = job_asset
        # Read before templating replaces the argument with its value: whether that task was skipped.
        self.couple_task_id: str | None = getattr(getattr(coupled, "operator", None), "task_id", None)

    def run_step(self, step: Step) -> JobResult:
        from bcsync.pipeline.record import record_job

        by_pass = merge_loads(self.loads)
        sides = extracts(self.bc_extract, self.crm_extract)
        coupled = CoupleResult.coerce(self.coupled)
        if coupled is None and nothing_to_sync(step.run, sides) and self._couple_skipped(step):
            from bcsync.pipeline.load import nothing_loaded

            by_pass = nothing_loaded(step.mapping, step.run, step.services, settled_by_pass(sides))
        result = record_job(step.mapping, step.run, step.services, sides, by_pass, coupled)
        if self.job_asset is not None and not step.run.dry_run:
            events = step.context["outlet_events"][job_events(self.job_asset)]
            events.add(self.job_asset, extra=result.summary())
        return result

    def _couple_skipped(self, step: Step) -> bool:
        """The couple task ended skipped (not failed): its skip is the only way to no couple result
        with nothing to sync."""
        if self.couple_task_id is None:
            return False
        ti = step.context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[self.couple_task_id], run_ids=[ti.run_id])
        return states.get(ti.run_id, {}).get(self.couple_task_id) == "skipped"


def settled_by_pass(sides: Mapping[Side, ExtractResult | None]) -> dict[str, int]:
    """Per pass, its source's look-back rows that count Unchanged without planning."""
    from bcsync.pipeline.extract import source_pass

    return {source_pass(side).value: e.settled for side, e in sides.items() if e is not None and e.settled}


def job_events(asset: Asset) -> AssetAlias:
    """The alias `record_job` adds the job asset's events through."""
    return AssetAlias(name=f"{asset.name}_events")
