"""ExtractOperator: stage one side's candidate records of this run."""

from __future__ import annotations

from typing import Any

from bcsync.operators.base import IntegrationStepOperator, Step
from bcsync.pools import BC_POOL, DATAVERSE_POOL, READ_SLOTS
from bcsync.results import ExtractResult

SIDES = ("bc", "crm")


class ExtractOperator(IntegrationStepOperator):
    """Read one side's candidates of this run page by page and stage them; returns an `ExtractResult`.

    Candidates are BC's: what changed since the pass's watermark plus what failed last time (a
    scheduled run), everything (a full synchronization), what changed inside the data interval (a
    backfill) or the given records (Synchronize Now).

    :param side: "bc" (Business Central) or "crm" (Dataverse). Runs in that service's pool
        (`bc_api` / `dataverse_api`) with one slot, as its reads go one page after the other.
    """

    step_name = "extract"

    def __init__(self, *, side: str, **kwargs: Any) -> None:
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {side!r}")
        kwargs.setdefault("pool", BC_POOL if side == "bc" else DATAVERSE_POOL)
        kwargs.setdefault("pool_slots", READ_SLOTS)
        super().__init__(**kwargs)
        self.side = side

    def run_step(self, step: Step) -> ExtractResult:
        from bcsync.engine.model import Side
        from bcsync.pipeline.extract import extract

        return extract(step.mapping, Side(self.side), step.run, step.services, step.folder)
