"""Synchronize records of another mapping first, the way BC's table code does before it needs their
coupling (CRM Synch. Helper's SynchRecordIfMappingExists: an invoice's customer, its lines' items).

BC runs a one-off job of the related mapping for those records, on a temporary copy of the mapping
that creates uncoupled records; its job row is the related mapping's own (a manual job). Here the same
job runs in-process through `bcsync.pipeline.runner.run_job`, for the To-Sales pass only.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Collection

from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import SyncPass
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.services import Services

log = logging.getLogger(__name__)


def synchronize_first(mapping_name: str, bc_ids: Collection[str], services: Services) -> bool:
    """Create or update these BC records of `mapping_name` in Sales now; False when the mapping does not
    run (missing or not enabled) or its job could not run — the caller then fails as BC does when the
    related record stays uncoupled."""
    if not bc_ids:
        return True
    try:
        mapping = services.registry.get(mapping_name)
    except KeyError:
        return False
    if not mapping.enabled or mapping.dag_id is None or not mapping.direction.to_crm:
        return False
    from bcsync.pipeline.runner import run_job  # the runner imports every step: only when needed

    run = RunContext(
        dag_id=mapping.dag_id,
        run_id=f"synchronize_first__{uuid.uuid4()}",
        kind=RunKind.RECORDS,
        record_ids=tuple(sorted(bc_ids)),
        direction=SyncPass.TO_CRM.value,
        creates=True,
    )
    try:
        # Its frames are needed only while it runs, here: a temporary folder, whatever the deployment.
        with tempfile.TemporaryDirectory(prefix="bcsync-first-") as folder:
            result = run_job(mapping.name, run, services, ObjectStoragePath(f"file://{folder}"))
    except Exception as error:  # another run holds the job, a service refused: the record stays uncoupled
        log.warning("%s: could not synchronize %d record(s) first: %s", mapping.name, len(bc_ids), error)
        return False
    log.info("%s: synchronized %d record(s) first: %s", mapping.name, len(bc_ids), result.summary())
    return True


def coupled_or_synchronized_first(
    mapping_name: str, bc_ids: Collection[str], services: Services, *, synchronize: bool = True
) -> dict[str, str]:
    """BC id → coupled Sales id of these records of `mapping_name`; with `synchronize`, the uncoupled
    ones are synchronized first (`synchronize_first`). Those still uncoupled are left out."""
    wanted = sorted({str(i).lower() for i in bc_ids})

    def coupled() -> dict[str, str]:
        couplings = services.store.couplings_for(mapping_name, bc_ids=wanted) if wanted else None
        return (
            dict(zip(couplings["bc_id"], couplings["crm_id"], strict=True)) if couplings is not None else {}
        )

    found = coupled()
    missing = set(wanted) - set(found)
    if synchronize and missing and synchronize_first(mapping_name, missing, services):
        found = coupled()
    return found
