"""Record the job: BC's job rows with their counters, and the watermarks of the passes that ran."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime

from bcsync.engine.model import Side, SyncPass
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import passes
from bcsync.registry.model import IntegrationTableMapping
from bcsync.results import LOAD_FAILED, CoupleResult, DirectionResult, ExtractResult, JobResult, LoadResult
from bcsync.store.leases import Lease
from bcsync.store.schema import JobType

log = logging.getLogger(__name__)

JOB_TYPE = {
    RunKind.SCHEDULED: JobType.SCHEDULED,
    RunKind.FULL: JobType.FULL,
    RunKind.BACKFILL: JobType.BACKFILL,
    RunKind.RECORDS: JobType.MANUAL,
}


def job_id_for(run: RunContext, mapping: IntegrationTableMapping, sync_pass: SyncPass) -> str:
    """One job row per mapping, pass and DAG run; stable across task retries."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"bcsync:{run.dag_id}:{run.run_id}:{mapping.name}:{sync_pass.value}")
    )


def job_type(run: RunContext) -> JobType:
    return JOB_TYPE[run.kind]


def lease_holder(run: RunContext) -> str:
    """Who holds the job's lease: the DAG run, so its tasks, retries and cleared tasks re-enter it."""
    return f"{run.dag_id} run {run.run_id}"


def job_lease(
    mapping: IntegrationTableMapping, run: RunContext, services: Services, *, first_step: bool
) -> AbstractContextManager[Lease]:
    """Hold the mapping's lease for this run while a step writes (see `CouplingStore.holding_lease`).

    The run's first writer (the couple step) keeps it for the load steps; `record_job` releases it.
    """
    return services.store.holding_lease(mapping.name, lease_holder(run), first_step=first_step)


def record_job(
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    extracts: Mapping[Side, ExtractResult | None],
    loads: Mapping[str, LoadResult | None],
    coupled: CoupleResult | None = None,
) -> JobResult:
    """Finish the job row of each pass and move its watermark; returns the counters per direction.

    `loads` maps a pass to its load task's result, or None when that load task did not succeed: then
    the pass's watermark stays where it was, so nothing it should have written is skipped next time.
    `coupled` is the couple step's result (pairs coupled by matching, per pass).

    The run's lease on the job is released at the end, also when a load failed, so the next run can
    go ahead; a lease another run holds now is left alone.
    """
    try:
        return _record_job(mapping, run, services, extracts, loads, coupled)
    finally:
        if not run.dry_run:
            services.store.release_lease(mapping.name, lease_holder(run))


def _record_job(
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    extracts: Mapping[Side, ExtractResult | None],
    loads: Mapping[str, LoadResult | None],
    coupled: CoupleResult | None,
) -> JobResult:
    directions: dict[str, DirectionResult] = {}
    for sync_pass in passes(mapping, run.direction):
        load = loads.get(sync_pass.value)
        if load is None:
            directions[sync_pass.value] = DirectionResult(status=LOAD_FAILED)
            if not run.dry_run:
                _record_failed_load(mapping, sync_pass, run, services)
            continue
        # Pairs the couple step coupled by matching (BC's "Coupled" column of a coupling job), and the
        # records a "Synchronize Now" named that no record has (failed before the load).
        extract = extracts.get(sync_pass.source)
        counters = replace(
            load.counters,
            coupled=coupled.coupled(sync_pass.value) if coupled else 0,
            failed=load.counters.failed + (extract.unresolved if extract else 0),
        )
        directions[sync_pass.value] = DirectionResult(
            status="dry run" if run.dry_run else "done", counters=counters
        )
        if run.dry_run:
            continue
        message = f"{counters.failed} record(s) failed" if counters.failed else None
        services.store.finish_job(load.job_id, counters.as_dict(), message=message)
        if run.moves_watermarks:
            _advance_watermark(mapping, sync_pass, services, extracts)
    result = JobResult(
        mapping=mapping.name, run_kind=run.kind.value, dry_run=run.dry_run, directions=directions
    )
    log.info("%s job log: %s", mapping.name, result.summary()["directions"])
    return result


def _record_failed_load(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, run: RunContext, services: Services
) -> None:
    """The job row of a pass whose load task failed: finished, with the reason, as BC logs a failed job."""
    job_id = services.store.start_job(
        mapping.name,
        sync_pass.value,
        job_type=job_type(run),
        run_id=run.run_id,
        job_id=job_id_for(run, mapping, sync_pass),
    )
    services.store.finish_job(
        job_id,
        {},
        message="The load task failed; see its log. Nothing was skipped: the watermark did not move.",
    )


def _advance_watermark(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    extracts: Mapping[Side, ExtractResult | None],
) -> None:
    """Up to the latest modified-on read (failed records included, as in BC), never past the read's start."""
    extract = extracts.get(sync_pass.source)
    if extract is None or not extract.max_modified:
        return
    value = services.store.advance_watermark(
        mapping.name,
        sync_pass.value,
        datetime.fromisoformat(extract.max_modified),
        not_after=datetime.fromisoformat(extract.started_at),
    )
    log.info("%s %s watermark now %s", mapping.name, sync_pass.value, value.isoformat())
