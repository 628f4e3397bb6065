"""PlanOperator: BC's per-record decision for every candidate of each pass (the "transform" step)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bcsync.operators.base import IntegrationStepOperator, Step
from bcsync.operators.couple import extracts
from bcsync.results import CoupleResult, PlanResult


class PlanOperator(IntegrationStepOperator):
    """Decide each candidate: insert, modify, unchanged, skip or fail, with the payload to write (field
    transformations, lookups through couplings, conflicts, BC's table rules); stages the plans and
    returns a `PlanResult` per partition of the load (a list; one partition unless a pass has more
    records to write than the run's `partition_size`), which the load tasks are mapped over. In a dry
    run, logs each planned change.

    :param bc_extract: the BC `ExtractResult`.
    :param crm_extract: the Dataverse `ExtractResult`.
    :param coupled: the `CoupleResult`.
    """

    step_name = "transform"
    template_fields: Sequence[str] = (
        *IntegrationStepOperator.template_fields,
        "bc_extract",
        "crm_extract",
        "coupled",
    )

    def __init__(self, *, bc_extract: Any, crm_extract: Any, coupled: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bc_extract = bc_extract
        self.crm_extract = crm_extract
        self.coupled = coupled

    def run_step(self, step: Step) -> list[PlanResult]:
        from bcsync.pipeline.transform import transform

        coupled = CoupleResult.coerce(self.coupled)
        if coupled is None:
            raise ValueError(f"{step.mapping.name}: no couple result to plan from")
        sides = extracts(self.bc_extract, self.crm_extract)
        return transform(step.mapping, step.run, step.services, step.folder, sides, coupled).partitioned()
