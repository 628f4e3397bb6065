"""Load: apply one pass's plan to its destination, then record couplings, results and errors.

Writes go in bulk (Dataverse bulk messages or `$batch`, BC JSON `$batch`); a record the service
refuses fails alone. Creates are journalled first (pending writes), so a task retried after a crash
never creates a second record: Dataverse creates reuse the journalled client-chosen id (an upsert
by primary key), and BC creates — BC chooses its ids — are looked for before being sent again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    Side,
    SyncPass,
)
from bcsync.engine.planner import count_actions
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.frames import as_destination, as_source, oriented_couplings
from bcsync.pipeline.reading import read_by_ids
from bcsync.pipeline.record import job_id_for, job_lease, job_type
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import passes
from bcsync.pipeline.staging import read_frame, write_frame
from bcsync.pipeline.transform import plan_records
from bcsync.pipeline.write_bc import write_bc
from bcsync.pipeline.write_crm import write_crm
from bcsync.registry.model import IntegrationTableMapping
from bcsync.results import LoadResult, PlanResult
from bcsync.store.schema import CoupledBy

log = logging.getLogger(__name__)

WRITES = ("insert", "modify")
PROGRESS_EVERY = 2_000  # records per write part: a long load reports its progress after each


def load(
    mapping: IntegrationTableMapping,
    destination: Side,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    planned: PlanResult,
) -> LoadResult:
    sync_pass = SyncPass.TO_CRM if destination is Side.CRM else SyncPass.FROM_CRM
    if sync_pass not in passes(mapping, run.direction):
        return LoadResult(sync_pass=sync_pass.value, ran=False)
    step = planned.passes[sync_pass.value]
    if run.dry_run:
        return LoadResult(sync_pass=sync_pass.value, dry_run=True, counters=step.planned)
    # The run's lease, taken by the couple step, re-entered here; taken afresh by a load cleared
    # after record_job released it (and then given back when this load is done).
    with job_lease(mapping, run, services, first_step=False):
        return _load(mapping, sync_pass, run, services, folder, read_frame(step.plan))


def _load(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    plan: pd.DataFrame,
) -> LoadResult:

    job_id = job_id_for(run, mapping, sync_pass)
    services.store.start_job(
        mapping.name, sync_pass.value, job_type=job_type(run), run_id=run.run_id, job_id=job_id
    )
    settled = _settled_by_earlier_tries(folder, sync_pass, run.try_number)
    outcome = _plan_for_this_try(mapping, sync_pass, run, services, plan, settled)
    if len(outcome):
        writes = outcome[outcome["action"].isin(WRITES)]
        if len(writes):
            outcome = _merge_writes(outcome, _write(mapping, sync_pass, writes, services, job_id))
        _record(mapping, sync_pass, run, services, job_id, outcome)
    write_frame(folder, f"results_{sync_pass.value}_try{run.try_number}", outcome)
    # The job's counters cover the whole run: what earlier tries settled plus this try's outcomes.
    counters = count_actions(pd.concat([settled["action"], outcome["action"]], ignore_index=True))
    failed = int((outcome["action"] == "fail").sum()) if len(outcome) else 0
    return LoadResult(sync_pass=sync_pass.value, job_id=job_id, counters=counters, failed=failed)


def _write(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    writes: pd.DataFrame,
    services: Services,
    job_id: str,
) -> pd.DataFrame:
    """Send the writes in parts of PROGRESS_EVERY records; a long load logs "written N of M" after each
    part and keeps it in its job row's message, where the job log page and `bcsync jobs` show it."""
    writer = write_crm if sync_pass.destination is Side.CRM else write_bc
    total, parts = len(writes), []
    for start in range(0, total, PROGRESS_EVERY):
        parts.append(
            writer(mapping, sync_pass, writes.iloc[start : start + PROGRESS_EVERY], services, job_id)
        )
        if total > PROGRESS_EVERY:
            done = min(start + PROGRESS_EVERY, total)
            log.info("%s %s: written %d of %d", mapping.name, sync_pass.value, done, total)
            services.store.report_progress(job_id, done, total)
    return pd.concat([p for p in parts if len(p)] or [parts[0]], ignore_index=True)


# ---- retries -----------------------------------------------------------------------------------------


def _settled_by_earlier_tries(
    folder: ObjectStoragePath, sync_pass: SyncPass, try_number: int
) -> pd.DataFrame:
    """Outcomes earlier tries of this task recorded, other than failures (source id and action)."""
    frames = []
    for earlier in range(1, try_number):
        path = folder / f"results_{sync_pass.value}_try{earlier}"
        if path.exists():
            frames.append(read_frame(str(path)))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({SOURCE_ID: pd.Series(dtype=object), "action": pd.Series(dtype=object)})
    earlier = pd.concat(frames, ignore_index=True).drop_duplicates(SOURCE_ID, keep="last")
    return earlier.loc[earlier["action"] != "fail", [SOURCE_ID, "action"]]


def _plan_for_this_try(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    plan: pd.DataFrame,
    settled: pd.DataFrame,
) -> pd.DataFrame:
    """The first try applies the staged plan. A retry — Airflow's, or a user clearing the task —
    leaves what earlier tries settled alone and plans everything else again from fresh reads: data
    fixed since is picked up, and work an interrupted try committed shows up as unchanged, not redone."""
    if run.try_number <= 1 or plan.empty:
        return plan.copy()
    ids = plan.loc[~plan[SOURCE_ID].isin(set(settled[SOURCE_ID])), SOURCE_ID].tolist()
    log.info(
        "%s %s try %d: %d record(s) planned again", mapping.name, sync_pass.value, run.try_number, len(ids)
    )
    if not ids:
        return plan.iloc[0:0].copy()
    source = _read(services, mapping, sync_pass.source, ids, as_source)
    side_ids = {"bc_ids" if sync_pass is SyncPass.TO_CRM else "crm_ids": ids}
    couplings = oriented_couplings(services.store.couplings_for(mapping.name, **side_ids), sync_pass)
    destination = _read(
        services, mapping, sync_pass.destination, couplings[DESTINATION_ID].tolist(), as_destination
    )
    return plan_records(mapping, sync_pass, run, services, source, couplings, destination)


def _read(
    services: Services, mapping: IntegrationTableMapping, side: Side, ids: list[str], shape
) -> pd.DataFrame:
    frames = [f for f in read_by_ids(services, mapping, side, ids, apply_filter=False) if len(f)]
    return shape(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), mapping, side)


# ---- recording --------------------------------------------------------------------------------------


def _merge_writes(outcome: pd.DataFrame, written: pd.DataFrame) -> pd.DataFrame:
    """Write outcomes onto the plan rows: the destination id and modified-on, or the failure."""
    if written.empty:
        return outcome
    results = written.drop_duplicates(SOURCE_ID, keep="last").set_index(SOURCE_ID)
    is_write = outcome["action"].isin(WRITES) & outcome[SOURCE_ID].isin(results.index)
    ok = outcome[SOURCE_ID].map(results["ok"]).fillna(False).astype(bool) & is_write
    failed = is_write & ~ok
    outcome.loc[ok, DESTINATION_ID] = outcome.loc[ok, SOURCE_ID].map(results[DESTINATION_ID])
    outcome.loc[ok, DESTINATION_MODIFIED] = outcome.loc[ok, SOURCE_ID].map(
        results["new_destination_modified"]
    )
    outcome.loc[failed, "action"] = "fail"
    outcome.loc[failed, "error"] = outcome.loc[failed, SOURCE_ID].map(results["error"])
    return outcome


def _record(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    job_id: str,
    outcome: pd.DataFrame,
) -> None:
    to_crm = sync_pass is SyncPass.TO_CRM
    store = services.store
    bc_col, crm_col = (SOURCE_ID, DESTINATION_ID) if to_crm else (DESTINATION_ID, SOURCE_ID)

    inserted = outcome[(outcome["action"] == "insert") & outcome[DESTINATION_ID].notna()]
    if len(inserted):
        pairs = pd.DataFrame({"bc_id": inserted[bc_col], "crm_id": inserted[crm_col]})
        replacing = inserted["replaces_coupling"].astype(bool)
        if replacing.any():
            store.uncouple(
                mapping.name,
                **{("bc_ids" if to_crm else "crm_ids"): inserted.loc[replacing, SOURCE_ID].tolist()},
            )
        store.couple(mapping.name, pairs, coupled_by=CoupledBy.CREATE)
        store.confirm(mapping.name, sync_pass.value, inserted[SOURCE_ID].tolist())

    removed = outcome[outcome["action"] == "remove_coupling"]
    if len(removed):
        store.uncouple(mapping.name, **{("bc_ids" if to_crm else "crm_ids"): removed[SOURCE_ID].tolist()})

    settled = outcome[outcome["action"].isin(["insert", "modify", "unchanged", "fail"])]
    if len(settled):
        success = settled["action"] != "fail"
        source_modified = pd.to_datetime(settled[SOURCE_MODIFIED], utc=True)
        destination_modified = pd.to_datetime(settled[DESTINATION_MODIFIED], utc=True)
        frame = pd.DataFrame(
            {
                "bc_id" if to_crm else "crm_id": settled[SOURCE_ID],
                "result": success.map({True: "Success", False: "Failure"}),
                "bc_modified_on": (source_modified if to_crm else destination_modified).where(success),
                "crm_modified_on": (destination_modified if to_crm else source_modified).where(success),
                "message": settled["error"].where(~success),
            }
        )
        recorded = store.record_sync_results(mapping.name, sync_pass.value, frame, job_id=job_id)
        if len(recorded.newly_skipped):
            skipped = set(recorded.newly_skipped["bc_id" if to_crm else "crm_id"])
            outcome.loc[outcome[SOURCE_ID].isin(skipped) & (outcome["action"] == "fail"), "action"] = "skip"

    failed = outcome[outcome["action"] == "fail"]
    if len(failed):
        _log_failures(mapping, sync_pass, run, services, job_id, failed)


def _log_failures(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    job_id: str,
    failed: pd.DataFrame,
) -> None:
    to_crm = sync_pass is SyncPass.TO_CRM
    failed = failed.assign(
        bc_number=failed["bc_number"] if "bc_number" in failed.columns else failed["label"].where(to_crm),
        name=failed["name"] if "name" in failed.columns else None,
    )
    for row in failed.itertuples(index=False):
        bc_id, crm_id = (row.source_id, row.destination_id) if to_crm else (row.destination_id, row.source_id)
        log.error(
            "SYNC ERROR job=%s direction=%s bc_id=%s bc_record=%s name=%s crm_id=%s reason=%s",
            mapping.name,
            sync_pass.value,
            bc_id,
            row.bc_number or "",
            row.name or "",
            crm_id,
            row.error,
        )
    services.store.add_record_errors(
        pd.DataFrame(
            {
                "mapping": mapping.name,
                "direction": sync_pass.value,
                "bc_id": failed[SOURCE_ID if to_crm else DESTINATION_ID],
                "crm_id": failed[DESTINATION_ID if to_crm else SOURCE_ID],
                "bc_number": failed["bc_number"],
                "name": failed["name"],
                "message": failed["error"].fillna("unknown error"),
                "job_id": job_id,
                "run_id": run.run_id,
                "task_id": run.task_id,
                "try_number": run.try_number,
                "logged_on": datetime.now(UTC),
            }
        )
    )
