"""CoupleOperator: match-based coupling, and the coupled counterparts of the candidates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bcsync.operators.base import IntegrationStepOperator, Step
from bcsync.results import CoupleResult, ExtractResult

if TYPE_CHECKING:
    from bcsync.engine.model import Side


class CoupleOperator(IntegrationStepOperator):
    """Couple uncoupled candidates to counterparts by BC's match criteria (when the run may create
    records), then stage each pass's couplings and coupled destination records; returns a
    `CoupleResult`.

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
        return couple(step.mapping, step.run, step.services, step.folder, sides)


def extracts(bc_extract: Any, crm_extract: Any) -> dict[Side, ExtractResult | None]:
    """Both sides' extract results by side, from what XCom gave the task."""
    from bcsync.engine.model import Side

    return {Side.BC: ExtractResult.coerce(bc_extract), Side.CRM: ExtractResult.coerce(crm_extract)}
