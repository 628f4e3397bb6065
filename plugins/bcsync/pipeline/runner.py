"""Run every step of one job in this process, in the DAG's order (tests and command-line tools).

Airflow runs the same steps as separate tasks (`bcsync.operators`); this runner chains them directly,
so a job can be exercised without a scheduler.
"""

from __future__ import annotations

from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.couple import couple
from bcsync.pipeline.extract import extract
from bcsync.pipeline.load import load
from bcsync.pipeline.record import lease_holder, record_job
from bcsync.pipeline.services import Services
from bcsync.pipeline.staging import run_folder
from bcsync.pipeline.transform import transform
from bcsync.results import JobResult


def run_job(
    mapping_name: str, run: RunContext, services: Services, staging: ObjectStoragePath | None = None
) -> JobResult:
    """Extract, couple, transform, load and record one job."""
    mapping = services.registry.get(mapping_name)
    folder = run_folder(run.dag_id, run.run_id, mapping.name, staging)
    extracts = {side: extract(mapping, side, run, services, folder) for side in Side}
    try:
        coupled = couple(mapping, run, services, folder, extracts)
        planned = transform(mapping, run, services, folder, extracts, coupled)
        loads = {}
        for destination in (Side.CRM, Side.BC):
            result = load(mapping, destination, run, services, folder, planned)
            if result.ran:
                loads[result.sync_pass] = result
    except Exception:
        # A step failed: the run ends here. The DAG's record_job runs after failed steps too and
        # releases the job's lease; so does this, so the next run is not held up.
        services.store.release_lease(mapping.name, lease_holder(run))
        raise
    return record_job(mapping, run, services, extracts, loads, coupled)
