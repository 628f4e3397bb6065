"""CoupleOperator: match-based coupling, and the coupled counterparts of the candidates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException

from bcsync.operators.base import IntegrationStepOperator, Step
from bcsync.results import CoupleResult, ExtractResult

if TYPE_CHECKING:
    from bcsync.engine.model import Side
    from bcsync.pipeline.context import RunContext


class CoupleOperator(IntegrationStepOperator):
    """Couple uncoupled candidates to counterparts by BC's match criteria (when the run may create
    records), then stage each pass's couplings and coupled destination records; returns a
    `CoupleResult`.

    When neither extract found a candidate (a scheduled run after which nothing changed), the task
    is skipped once its work is done, and with it the transform and load tasks: no task process is
    started for steps that would plan and write nothing. `record_job` then records the job with zero
    counters, as the loads of empty plans would have.

    :param bc_extract: the BC `ExtractResult` (e.g. `extract_bc.output`).
    :param crm_extract: the Dataverse `ExtractResult` (e.g. `extract_crm.output`).
    """

    step_name = "couple"
    template_fields: Sequence[str] = (*IntegrationStepOperator.template_fields, "bc_extract", "crm_extract")

    def __init__(self, *, bc_extract: Any, crm_extract: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bc_extract = bc_extract
        self.crm_extract = crm_extract

    def run_step(self, step: Step) -> CoupleResult:
        from bcsync.pipeline.couple import couple

        sides = extracts(self.bc_extract, self.crm_extract)
        result = couple(step.mapping, step.run, step.services, step.folder, sides)
        if nothing_to_sync(step.run, sides):
            raise AirflowSkipException(
                f"{step.mapping.name}: no changed candidate on either side; nothing to load"
            )
        return result


def extracts(bc_extract: Any, crm_extract: Any) -> dict[Side, ExtractResult | None]:
    """Both sides' extract results by side, from what XCom gave the task."""
    from bcsync.engine.model import Side

    return {Side.BC: ExtractResult.coerce(bc_extract), Side.CRM: ExtractResult.coerce(crm_extract)}


def nothing_to_sync(run: RunContext, sides: Mapping[Side, ExtractResult | None]) -> bool:
    """No pass of this run has a changed candidate, so its plans and loads would write nothing.

    Records that failed last time are candidates (the extract read them again), so a run that has
    some is never one of these. Sales rows read again only for the one-second look-back and already
    synced at their modified-on (`ExtractResult.settled`) count Unchanged without planning. A
    "Synchronize Now" always goes on: records it names that do not exist fail in the couple step or
    count as Failed.
    """
    from bcsync.pipeline.context import RunKind

    if run.kind is RunKind.RECORDS:
        return False
    return all(e is None or (e.rows == e.settled and not e.unresolved) for e in sides.values())
