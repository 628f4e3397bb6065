"""Applying a plan to its destination: send its writes, then record couplings, results and errors.

Used by the load step for a mapping's plan, and by `bcsync.pipeline.children` for the plans of child
mappings and the follow-ups of their parents, so every write is recorded the same way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pandas as pd

from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    WRITE_ACTIONS,
    Side,
    SyncPass,
)
from bcsync.engine.values import is_in
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.reading import read_by_ids
from bcsync.pipeline.services import Services
from bcsync.pipeline.write_bc import write_bc
from bcsync.pipeline.write_crm import write_crm
from bcsync.pipeline.writing import with_new_modified_on
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import apply_after_write_rules
from bcsync.store.schema import CoupledBy

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2_000  # records per write part: a long load reports its progress after each
# A plan column: the record was created by this write, even if what followed (an AFTER_WRITE rule,
# its children) then failed it: it is coupled all the same, so its retry updates it.
CREATED = "created"
LOG_LINES_PER_EVENT = 100  # SYNC ERROR lines per log event


def write_plan(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    job_id: str,
    plan: pd.DataFrame,
) -> pd.DataFrame:
    """Send the plan's inserts and modifies to the pass's destination; the plan with their outcomes."""
    outcome = plan.copy()
    writes = outcome[outcome["action"].isin(WRITE_ACTIONS)]
    if writes.empty:
        return outcome
    outcome = _merge_writes(outcome, _write(mapping, sync_pass, writes, services, job_id))
    outcome[CREATED] = (outcome["action"] == "insert") & outcome[DESTINATION_ID].notna()
    return apply_after_write_rules(mapping, sync_pass, outcome, services)


def _write(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    writes: pd.DataFrame,
    services: Services,
    job_id: str,
) -> pd.DataFrame:
    """Send the writes in parts of PROGRESS_EVERY records; a long load logs "written N of M" after each
    part and keeps it in its job row's message, where the job log page and `bcsync jobs` show it.

    The destination's new modified-on is read back once after the last part: read per part, each
    window ("modified since the writes began") would hold every earlier part again."""
    writer = write_crm if sync_pass.destination is Side.CRM else write_bc
    began = datetime.now(UTC)
    total, parts = len(writes), []
    for start in range(0, total, PROGRESS_EVERY):
        part = writes.iloc[start : start + PROGRESS_EVERY]
        parts.append(writer(mapping, sync_pass, part, services, job_id, read_back=False))
        if total > PROGRESS_EVERY:
            done = min(start + PROGRESS_EVERY, total)
            log.info("%s %s: written %d of %d", mapping.name, sync_pass.value, done, total)
            services.store.report_progress(job_id, done, total)
    written = pd.concat([p for p in parts if len(p)] or [parts[0]], ignore_index=True)
    return with_new_modified_on(written, mapping, sync_pass.destination, services, began)


def read_records(
    services: Services, mapping: IntegrationTableMapping, side: Side, ids: list[str], shape
) -> pd.DataFrame:
    """These records of one side (read by id, no filter), shaped by `as_source` or `as_destination`."""
    frames = [f for f in read_by_ids(services, mapping, side, ids, apply_filter=False) if len(f)]
    return shape(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), mapping, side)


def _merge_writes(outcome: pd.DataFrame, written: pd.DataFrame) -> pd.DataFrame:
    """Write outcomes onto the plan rows: the destination id and modified-on, or the failure."""
    if written.empty:
        return outcome
    results = written.drop_duplicates(SOURCE_ID, keep="last").set_index(SOURCE_ID)
    is_write = outcome["action"].isin(WRITE_ACTIONS) & is_in(outcome[SOURCE_ID], results.index)
    ok = outcome[SOURCE_ID].map(results["ok"]).fillna(False).astype(bool) & is_write
    failed = is_write & ~ok
    outcome.loc[ok, DESTINATION_ID] = outcome.loc[ok, SOURCE_ID].map(results[DESTINATION_ID])
    outcome.loc[ok, DESTINATION_MODIFIED] = outcome.loc[ok, SOURCE_ID].map(
        results["new_destination_modified"]
    )
    outcome.loc[failed, "action"] = "fail"
    outcome.loc[failed, "error"] = outcome.loc[failed, SOURCE_ID].map(results["error"])
    return outcome


def record_outcome(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    job_id: str,
    outcome: pd.DataFrame,
) -> None:
    """Couplings, per-record results and errors of a pass's outcome.

    A record created and then failed by what followed its creation (an AFTER_WRITE rule, a parent
    whose children failed: `created` is True) is coupled all the same, so its retry updates it
    rather than creating another.
    A child mapping's failures are logged but not marked on its couplings: BC marks the parent only.
    Everything is written in one store transaction: one commit, and all of it or none (a retried
    task finds the creates still journalled and reconciles them).
    """
    with services.store.one_transaction():
        _record_outcome(mapping, sync_pass, run, services, job_id, outcome)


def _record_outcome(
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

    if CREATED in outcome.columns:
        created = outcome[CREATED].fillna(False).astype(bool)
    else:
        created = outcome["action"] == "insert"
    coupling = created & outcome[DESTINATION_ID].notna()
    inserted = outcome[coupling]
    # Created and still an insert: coupled as synced by this job with their results in one insert,
    # rather than coupled and then read again to record the results.
    is_fresh = coupling & (outcome["action"] == "insert")
    fresh = outcome[is_fresh]
    if len(inserted):
        replacing = inserted["replaces_coupling"].astype(bool)
        if replacing.any():
            store.uncouple(
                mapping.name,
                **{("bc_ids" if to_crm else "crm_ids"): inserted.loc[replacing, SOURCE_ID].tolist()},
            )
        if len(fresh):
            source_modified = pd.to_datetime(fresh[SOURCE_MODIFIED], utc=True)
            destination_modified = pd.to_datetime(fresh[DESTINATION_MODIFIED], utc=True)
            pairs = pd.DataFrame(
                {
                    "bc_id": fresh[bc_col],
                    "crm_id": fresh[crm_col],
                    "bc_synced_on": source_modified if to_crm else destination_modified,
                    "crm_synced_on": destination_modified if to_crm else source_modified,
                }
            )
            store.couple_created(mapping.name, sync_pass.value, pairs, job_id=job_id)
        failed_since = inserted[inserted["action"] != "insert"]  # an AFTER_WRITE rule, its children
        if len(failed_since):
            pairs = pd.DataFrame({"bc_id": failed_since[bc_col], "crm_id": failed_since[crm_col]})
            store.couple(mapping.name, pairs, coupled_by=CoupledBy.CREATE)
        store.confirm(mapping.name, sync_pass.value, inserted[SOURCE_ID].tolist())

    removed = outcome[outcome["action"] == "remove_coupling"]
    if len(removed):
        store.uncouple(mapping.name, **{("bc_ids" if to_crm else "crm_ids"): removed[SOURCE_ID].tolist()})

    results = ["insert", "modify", "unchanged"] + ([] if mapping.is_child else ["fail"])
    settled = outcome[outcome["action"].isin(results) & ~is_fresh]
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
    lines = [
        f"SYNC ERROR job={mapping.name} direction={sync_pass.value} bc_id={bc_id} "
        f"bc_record={number or ''} name={name or ''} crm_id={crm_id} reason={error}"
        for bc_id, crm_id, number, name, error in zip(
            failed[SOURCE_ID if to_crm else DESTINATION_ID],
            failed[DESTINATION_ID if to_crm else SOURCE_ID],
            failed["bc_number"],
            failed["name"],
            failed["error"],
            strict=True,
        )
    ]
    # Still one line per failed record, but one log event per LOG_LINES_PER_EVENT of them: a task
    # log event costs about a millisecond, which 10,000 failed records would spend on logging alone.
    for start in range(0, len(lines), LOG_LINES_PER_EVENT):
        log.error("%s", "\n".join(lines[start : start + LOG_LINES_PER_EVENT]))
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
