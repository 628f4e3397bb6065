"""Run one manual action: the catalog's name → the function that does it, inside an `ActionRun`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow.sdk import ObjectStoragePath

from bcsync.actions import coupling, record_actions
from bcsync.actions.execution import ActionRun, sync_pass_of
from bcsync.engine.model import Side
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.results import JobResult


def synchronize_now(run: ActionRun, records: list[str], *, direction: str = "both") -> None:
    """BC's Synchronize Now for records named any way: each side's records in the pass they are the
    source of (a skipped one is restored first), forced. The job DAGs do the same from their Params."""
    found = run.resolve(records)
    for side in (Side.BC, Side.CRM):
        pass_ = sync_pass_of(side)
        ids = [r.record_id for r in found if r.side is side and r.record_id]
        if ids and direction in ("both", pass_.value):
            run.synchronize(ids, pass_)


HANDLERS: Mapping[str, Callable[..., None]] = {
    "couple": coupling.couple,
    "match_couple": coupling.match_couple,
    "uncouple": coupling.uncouple,
    "delete_coupling": coupling.delete_coupling,
    "delete_coupled_record": record_actions.delete_coupled_record,
    "create_new": record_actions.create_new,
    "restore": record_actions.restore,
    "synchronize_now": synchronize_now,
}


def run_action(
    action: str,
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    records: list[str],
    options: Mapping[str, Any],
    staging: ObjectStoragePath | None = None,
) -> JobResult:
    """Do `action` on `records` (options checked by `catalog.action_request`); the run's counters."""
    action_run = ActionRun(action, mapping, run, services, staging)
    HANDLERS[action](action_run, list(records), **options)
    return action_run.result()
