"""Follow-up synchronization: another job's records synchronized right after a pass, because a table rule
asks for it (BC: a subscriber calling SynchRecordsToIntegrationTable, e.g. a customer price group's sales
prices after the group was written, or found unchanged).

This module decides what to run; `bcsync.pipeline.runner.run_follow_up` runs it through that job's own
steps in the same task, as a records run that is not forced: its own job rows and counters, errors and
couplings, under its own lease; watermarks untouched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import SyncPass
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.load import settled_outcomes
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import follow_up_after

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowUpRun:
    """A job to run for some of its records, and where its steps stage their frames."""

    mapping: IntegrationTableMapping
    run: RunContext
    folder: ObjectStoragePath


def follow_up_run(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
) -> FollowUpRun | None:
    """What the mapping's follow-up rule asks to run after the pass's load settled its records (every
    try's outcomes but failures), or None."""
    if run.dry_run:
        return None
    settled = settled_outcomes(folder, sync_pass, before_try=run.try_number + 1)
    follow_up = follow_up_after(mapping, sync_pass, settled, services)
    if follow_up is None or not follow_up.bc_ids:
        return None
    related = _job_of_table(follow_up.bc_table, services)
    if related is None:
        log.warning(
            "%s: no enabled job synchronizes %s; nothing follows up", mapping.name, follow_up.bc_table
        )
        return None
    log.info(
        "%s: %d %s record(s) are synchronized by %s after it, as BC does",
        mapping.name,
        len(follow_up.bc_ids),
        follow_up.bc_table,
        related.name,
    )
    records_run = replace(
        run, kind=RunKind.RECORDS, record_ids=follow_up.bc_ids, direction=None, triggered_by=mapping.name
    )
    return FollowUpRun(related, records_run, folder / "follow_up" / related.name)


def _job_of_table(bc_table: str, services: Services) -> IntegrationTableMapping | None:
    wanted = bc_table.casefold()
    return next((m for m in services.registry.jobs if m.bc_table.casefold() == wanted and m.enabled), None)
