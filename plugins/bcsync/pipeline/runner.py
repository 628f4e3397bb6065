"""Run every step of one job in this process, in the DAG's order (tests and command-line tools).

Airflow runs the same steps as separate tasks (`bcsync.operators`); this runner chains them directly,
so a job can be exercised without a scheduler.
"""

from __future__ import annotations

import logging

from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import Side, SyncPass
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.couple import couple
from bcsync.pipeline.extract import extract
from bcsync.pipeline.follow_up import follow_up_run
from bcsync.pipeline.load import load_partitions
from bcsync.pipeline.record import lease_holder, record_job
from bcsync.pipeline.services import Services
from bcsync.pipeline.staging import run_folder
from bcsync.pipeline.transform import transform
from bcsync.registry.model import IntegrationTableMapping
from bcsync.results import JobResult

log = logging.getLogger(__name__)


def run_job(
    mapping_name: str, run: RunContext, services: Services, staging: ObjectStoragePath | None = None
) -> JobResult:
    """Extract, couple, transform, load and record one job."""
    mapping = services.registry.get(mapping_name)
    return run_steps(mapping, run, services, run_folder(run.dag_id, run.run_id, mapping.name, staging))


def run_steps(
    mapping: IntegrationTableMapping, run: RunContext, services: Services, folder: ObjectStoragePath
) -> JobResult:
    """The job's steps, staging in `folder`."""
    extracts = {side: extract(mapping, side, run, services, folder) for side in Side}
    try:
        coupled = couple(mapping, run, services, folder, extracts)
        planned = transform(mapping, run, services, folder, extracts, coupled)
        loads = {}
        for destination in (Side.CRM, Side.BC):
            result = load_partitions(mapping, destination, run, services, folder, planned.partitioned())
            if result.ran:
                loads[result.sync_pass] = result
                run_follow_up(mapping, SyncPass(result.sync_pass), run, services, folder)
    except Exception:
        # A step failed: the run ends here. The DAG's record_job runs after failed steps too and
        # releases the job's lease; so does this, so the next run is not held up.
        services.store.release_lease(mapping.name, lease_holder(run))
        raise
    return record_job(mapping, run, services, extracts, loads, coupled)


def run_follow_up(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
) -> JobResult | None:
    """After a pass's load: run the records another job's table rule asks for (`pipeline.follow_up`)."""
    follow_up = follow_up_run(mapping, sync_pass, run, services, folder)
    if follow_up is None:
        return None
    result = run_steps(follow_up.mapping, follow_up.run, services, follow_up.folder)
    log.info(
        "%s follow-up %s job log: %s", mapping.name, follow_up.mapping.name, result.summary()["directions"]
    )
    return result
