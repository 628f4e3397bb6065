"""Load: apply one pass's plan to its destination (`bcsync.pipeline.apply`), with its child mappings.

Writes go in bulk (Dataverse bulk messages or `$batch`, BC JSON `$batch`); a record the service
refuses fails alone. Creates are journalled first (pending writes), so a task retried after a crash
never creates a second record: Dataverse creates reuse the journalled client-chosen id (an upsert
by primary key), BC creates too where our API page takes one (else they are looked for by content
before being sent again). A retry finishes as planned what an earlier, killed try wrote in part.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    JobCounters,
    Side,
    SyncPass,
)
from bcsync.engine.planner import count_actions
from bcsync.engine.values import same_value
from bcsync.pipeline.apply import read_records, record_outcome, write_plan
from bcsync.pipeline.children import load_children
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.frames import as_destination, as_source, oriented_couplings
from bcsync.pipeline.linked import link_parents
from bcsync.pipeline.record import job_id_for, job_lease, job_type
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import passes
from bcsync.pipeline.staging import read_frame, read_rows, write_frame
from bcsync.pipeline.transform import plan_records
from bcsync.registry.model import IntegrationTableMapping
from bcsync.results import LoadResult, PlanPartition, PlanResult, merge_loads

log = logging.getLogger(__name__)


def load(
    mapping: IntegrationTableMapping,
    destination: Side,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    planned: PlanResult,
    partition: PlanPartition | None = None,
) -> LoadResult:
    """Load the pass's plan, or only `partition` of it (one of several load tasks of the pass: each
    keeps every guarantee for its records, and they share the pass's job row)."""
    sync_pass = SyncPass.TO_CRM if destination is Side.CRM else SyncPass.FROM_CRM
    if sync_pass not in passes(mapping, run.direction):
        return LoadResult(sync_pass=sync_pass.value, ran=False)
    step = planned.passes[sync_pass.value]
    place = {"partition": partition.index, "partitions": partition.of} if partition else {}
    if run.dry_run:
        counters = partition.planned if partition else step.planned
        return LoadResult(sync_pass=sync_pass.value, dry_run=True, counters=counters, **place)
    if partition and partition.index and partition.start >= partition.stop:
        # The other pass has more partitions: nothing of this pass here, nothing to write or record.
        return LoadResult(sync_pass=sync_pass.value, job_id=job_id_for(run, mapping, sync_pass), **place)
    plan = read_rows(step.plan, partition.start, partition.stop) if partition else read_frame(step.plan)
    # The run's lease, taken by the couple step, re-entered here; taken afresh by a load cleared
    # after record_job released it (and then given back when this load is done).
    with job_lease(mapping, run, services, first_step=False):
        result = _load(mapping, sync_pass, run, services, folder, plan, partition)
    return replace(result, **place)


def _load(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    plan: pd.DataFrame,
    partition: PlanPartition | None = None,
) -> LoadResult:
    job_id = job_id_for(run, mapping, sync_pass)
    services.store.start_job(
        mapping.name, sync_pass.value, job_type=job_type(run), run_id=run.run_id, job_id=job_id
    )
    settled = settled_outcomes(folder, sync_pass, before_try=run.try_number, partition=partition)
    outcome = _plan_for_this_try(
        mapping, sync_pass, run, services, plan, settled, folder / f"destination_{sync_pass.value}"
    )
    if sync_pass is SyncPass.FROM_CRM and SyncPass.TO_CRM in passes(mapping, run.direction):
        outcome = _skip_couplings_skipped_since_planned(mapping, services, outcome)
    # A child mapping's counters are part of its parent's job, zero when it had nothing to do.
    child_counters = {c.name: JobCounters() for c in services.registry.children(mapping.name)}
    if len(outcome):
        outcome = write_plan(mapping, sync_pass, services, job_id, outcome)
        if mapping.linked_to:
            outcome = link_parents(mapping, services, outcome)
        if services.registry.children(mapping.name):
            outcome, counted = load_children(mapping, sync_pass, run, services, job_id, outcome)
            child_counters.update(counted)
        record_outcome(mapping, sync_pass, run, services, job_id, outcome)
    write_frame(folder, _results_name(sync_pass, run.try_number, partition), _settled_columns(outcome))
    # The job's counters cover the whole run: what earlier tries settled plus this try's outcomes.
    counters = count_actions(pd.concat([settled["action"], outcome["action"]], ignore_index=True))
    counters.extra = children_counters(child_counters)
    failed = int((outcome["action"] == "fail").sum()) if len(outcome) else 0
    return LoadResult(sync_pass=sync_pass.value, job_id=job_id, counters=counters, failed=failed)


def load_partitions(
    mapping: IntegrationTableMapping,
    destination: Side,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    plans: Sequence[PlanResult],
) -> LoadResult:
    """Every partition the plans list for the destination's pass, one after the other, their results
    added up as `record_job` adds them: a load task given the whole list, or the in-process runner."""
    sync_pass = SyncPass.TO_CRM if destination is Side.CRM else SyncPass.FROM_CRM
    results = [
        load(mapping, destination, run, services, folder, plan, partition)
        for plan in plans
        for partition in _partitions_of(plan, sync_pass)
    ]
    if len(results) == 1:
        return results[0]
    return merge_loads(results).get(sync_pass.value) or LoadResult(sync_pass=sync_pass.value, ran=False)


def _partitions_of(plan: PlanResult, sync_pass: SyncPass) -> list[PlanPartition | None]:
    """The partitions of the pass this plan lists (None: the whole plan, or a pass not in this run)."""
    step = plan.passes.get(sync_pass.value)
    return list(step.partitions) if step and step.partitions else [None]


def nothing_loaded(
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    unchanged: Mapping[str, int] | None = None,
) -> dict[str, LoadResult]:
    """What the loads of a run without a changed candidate leave (their tasks were skipped, see
    `CoupleOperator`): per pass, its job row started, with zero counters for it and its child mappings
    but `unchanged` (by pass: the records read again that count Unchanged). A dry run writes no job
    row."""
    children = {c.name: JobCounters() for c in services.registry.children(mapping.name)}
    results = {}
    for sync_pass in passes(mapping, run.direction):
        zero = JobCounters(
            unchanged=(unchanged or {}).get(sync_pass.value, 0), extra=children_counters(children)
        )
        if run.dry_run:
            results[sync_pass.value] = LoadResult(sync_pass=sync_pass.value, dry_run=True, counters=zero)
            continue
        job_id = job_id_for(run, mapping, sync_pass)
        services.store.start_job(
            mapping.name, sync_pass.value, job_type=job_type(run), run_id=run.run_id, job_id=job_id
        )
        results[sync_pass.value] = LoadResult(sync_pass=sync_pass.value, job_id=job_id, counters=zero)
    return results


def children_counters(counters: dict[str, JobCounters]) -> dict[str, int]:
    """Child mappings' counters as the parent job's extra counters: "<CHILD> Inserted" → count."""
    return {
        f"{child} {name}": count
        for child, counted in counters.items()
        for name, count in counted.as_dict().items()
        if name != "Coupled"
    }


# ---- retries -----------------------------------------------------------------------------------------


def _results_name(sync_pass: SyncPass, try_number: int, partition: PlanPartition | None) -> str:
    """Where a try of a load task stages its outcomes (one per partition when the pass has several)."""
    part = f"_part{partition.index}" if partition and partition.of > 1 else ""
    return f"results_{sync_pass.value}{part}_try{try_number}"


def _settled_columns(outcome: pd.DataFrame) -> pd.DataFrame:
    """What a retry reads of this try's outcomes (`settled_outcomes`), and what explains them; not the
    payloads, which cost as much to stage again as the plan did."""
    return outcome[[c for c in (SOURCE_ID, DESTINATION_ID, "action", "error") if c in outcome.columns]]


def settled_outcomes(
    folder: ObjectStoragePath,
    sync_pass: SyncPass,
    *,
    before_try: int,
    partition: PlanPartition | None = None,
) -> pd.DataFrame:
    """Outcomes the tries of this task (of this partition) before `before_try` recorded, other than
    failures (source id and action)."""
    frames = []
    for earlier in range(1, before_try):
        path = folder / _results_name(sync_pass, earlier, partition)
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
    staged_destination: ObjectStoragePath,
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
    source = read_records(services, mapping, sync_pass.source, ids, as_source)
    side_ids = {"bc_ids" if sync_pass is SyncPass.TO_CRM else "crm_ids": ids}
    couplings = oriented_couplings(services.store.couplings_for(mapping.name, **side_ids), sync_pass)
    destination = read_records(
        services, mapping, sync_pass.destination, couplings[DESTINATION_ID].tolist(), as_destination
    )
    replanned = plan_records(mapping, sync_pass, run, services, source, couplings, destination)
    # The destination as the plan saw it (staged raw by the couple step) and as it is now.
    before = as_destination(read_frame(str(staged_destination)), mapping, sync_pass.destination)
    ours = _partly_written_by_us(plan[plan[SOURCE_ID].isin(ids)], before, destination)
    if ours.empty:
        return replanned
    log.info(
        "%s %s: %d record(s) an earlier try wrote in part are finished as planned",
        mapping.name,
        sync_pass.value,
        len(ours),
    )
    return pd.concat([replanned[~replanned[SOURCE_ID].isin(set(ours[SOURCE_ID]))], ours], ignore_index=True)


def _partly_written_by_us(plan: pd.DataFrame, before: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """Planned modifies whose destination changed since the plan only by taking planned values: an
    earlier try's write that committed without being recorded (a task killed mid-write), perhaps in
    part (BC's second page not yet written). Planned again, our own write would look like a change
    on the destination side too and fail as a bidirectional conflict; they are sent as planned.
    Any other change of a mapped field (a user's) leaves the record to the fresh plan."""
    modifies = plan[plan["action"] == "modify"]
    if modifies.empty or before.empty or now.empty:
        return modifies.iloc[0:0]
    before_by_id = before.set_index(DESTINATION_ID)
    now_by_id = now.set_index(DESTINATION_ID)
    ours = []
    for position, row in enumerate(modifies.itertuples(index=False)):
        record = getattr(row, DESTINATION_ID)
        if record not in before_by_id.index or record not in now_by_id.index:
            continue
        old, new = before_by_id.loc[record], now_by_id.loc[record]
        if old.get(DESTINATION_MODIFIED) == new.get(DESTINATION_MODIFIED):
            continue  # untouched since the plan: planning again gives the same write
        payload = row.payload or {}
        changed = [
            f
            for f in new.index
            # Annotations (the ETag) and the modified-on change with any write: the fields decide.
            if f in old.index
            and f != DESTINATION_MODIFIED
            and "@" not in f
            and not same_value(old[f], new[f])
        ]
        if changed and all(f in payload and same_value(new[f], payload[f]) for f in changed):
            ours.append(position)
    return modifies.iloc[ours].assign(etag=None)  # our own change since: the ETag read then is stale


def _skip_couplings_skipped_since_planned(
    mapping: IntegrationTableMapping, services: Services, plan: pd.DataFrame
) -> pd.DataFrame:
    """BC runs the From pass after the To pass: a coupling the To pass has just marked Skipped (the same
    error twice) counts as Skipped here too and is left alone (engine-semantics §1.3), whatever the
    plan, made before the To pass loaded, said."""
    open_rows = plan[plan[DESTINATION_ID].notna() & ~plan["action"].isin(["skip", "ignore"])]
    if open_rows.empty:
        return plan
    couplings = services.store.couplings_for(mapping.name, crm_ids=open_rows[SOURCE_ID].tolist())
    skipped = set(couplings.loc[couplings["skipped"].astype(bool), "crm_id"])
    now_skipped = plan[SOURCE_ID].isin(skipped) & plan.index.isin(open_rows.index)
    if now_skipped.any():
        log.info(
            "%s: %d record(s) skipped by the To pass are skipped here too", mapping.name, now_skipped.sum()
        )
        plan = plan.copy()
        plan.loc[now_skipped, ["action", "payload", "error"]] = ["skip", None, None]
    return plan
