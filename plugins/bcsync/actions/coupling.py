"""BC's coupling actions: Couple (§6.1), Match-Based Coupling (§6.7), Uncouple (§6.4), Delete Coupling."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import pandas as pd

from bcsync.actions.execution import FROM_CRM, TO_CRM, ActionRun, read_records, record_name
from bcsync.engine.matching import MatchField, match_records
from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    JobCounters,
    Side,
    SyncPass,
    UpdateConflictResolution,
)
from bcsync.pipeline.company import COMPANY_LOOKUP, this_company
from bcsync.pipeline.frames import as_destination, as_source
from bcsync.pipeline.reading import ID_CHUNK, read_pages
from bcsync.pipeline.references import ResolvedRecord
from bcsync.registry.model import FieldStatus, IntegrationTableMapping
from bcsync.store.schema import CoupledBy, JobType
from bcsync.wire import odata
from bcsync.wire.errors import RecordRejected


def couple(
    run: ActionRun,
    records: list[str],
    *,
    counterpart: str,
    side: str = "bc",
    synchronize_after: bool = False,
    direction: str | None = None,
) -> None:
    """Couple one record to a record of the other side (BC's "Set Up Coupling"); the record's old
    coupling moves (re-coupling). Without synchronizing after, the pair is coupled as in step now, so
    neither side's data changes; with it, the chosen side overwrites the other at once."""
    mapping = run.mapping
    own = Side.BC if side == "bc" else Side.CRM
    pass_ = SyncPass(direction) if direction else (TO_CRM if mapping.direction.to_crm else FROM_CRM)
    with run.exclusive():
        found = run.resolve(records, own)
        partner = run.resolve([counterpart], own.other)
        if not found or not partner:
            return
        bc, crm = (found[0], partner[0]) if own is Side.BC else (partner[0], found[0])
        taken = run.store.couplings_for(mapping.name, crm_ids=[crm.record_id])
        taken = taken[taken["bc_id"] != bc.record_id]
        if len(taken):
            run.fail(
                TO_CRM,
                bc,
                f"Cannot couple {record_name(bc)} to this Sales {mapping.crm_entity} record, because "
                f"the Sales {mapping.crm_entity} {record_name(crm)} is already coupled to another "
                f"{mapping.bc_table} record.",
                crm_id=crm.record_id,
            )
            return
        pair = {"bc_id": bc.record_id, "crm_id": crm.record_id}
        if not synchronize_after:
            pair.update(_in_step(run, bc.record_id, crm.record_id))
        outcome = run.store.couple(mapping.name, [pair], coupled_by=CoupledBy.MANUAL, replace=True)
        if outcome.already_coupled:
            run.say(f"{record_name(bc)} is already coupled to {record_name(crm)}.")
        else:
            run.count(TO_CRM, coupled=outcome.coupled, uncoupled=outcome.replaced)
            run.say(f"{record_name(bc)} is now coupled to Sales {mapping.crm_entity} {record_name(crm)}.")
        run.record_job(JobType.COUPLING, _own(run))
    if synchronize_after:
        run.synchronize([bc.record_id if pass_ is TO_CRM else crm.record_id], pass_)
        run.say(f"Synchronized after coupling ({pass_.value}).")


def match_couple(
    run: ActionRun,
    records: list[str],
    *,
    match_fields: list[str] | None = None,
    case_sensitive: bool | None = None,
    create_new_if_no_match: bool = False,
    synchronize_after: bool | None = None,
) -> None:
    """BC's Match-Based Coupling of the selected BC records (cu 5360, spec §6.7)."""
    mapping = run.mapping
    sync_after = (
        mapping.coupling.synch_after_bulk_coupling if synchronize_after is None else synchronize_after
    )
    groups = match_criteria(mapping, match_fields, case_sensitive)
    unmatched_ids: list[str] = []
    coupled = pd.DataFrame(columns=["bc_id", "crm_id"])
    with run.exclusive():
        found = run.resolve(records, Side.BC)
        if not groups:
            for record in found:
                run.fail(
                    TO_CRM,
                    record,
                    f"You must specify which fields of the {mapping.name} mapping should be used for "
                    "match-based coupling.",
                )
            run.record_job(JobType.COUPLING, _own(run))
            return
        couplings = run.store.couplings(mapping.name)
        already = set(couplings["bc_id"])
        for record in found:
            if record.record_id in already:
                run.say(f"{record_name(record)} is already coupled.")
        wanted = [r for r in found if r.record_id not in already]
        if wanted:
            source = read_records(run, Side.BC, [r.record_id for r in wanted], as_source)
            candidates = _all_of(run, Side.CRM)
            matches = match_records(source, candidates, groups, set(couplings["crm_id"]))
            pairs = matches.dropna(subset=[DESTINATION_ID])
            coupled = _couple_matches(run, pairs, source, candidates, in_step=not sync_after)
            labels = {r.record_id: r for r in wanted}
            for row in matches[matches[DESTINATION_ID].isna()].itertuples(index=False):
                if create_new_if_no_match:
                    unmatched_ids.append(row.source_id)
                    continue
                run.fail(
                    TO_CRM,
                    labels[row.source_id],
                    f"Failed to couple {record_name(labels[row.source_id])}, because no unique uncoupled "
                    f"matching entity was found in Sales {mapping.crm_entity} ({row.reason}).",
                )
        run.record_job(JobType.COUPLING, _own(run))
    if unmatched_ids:
        run.say(f"{len(unmatched_ids)} record(s) without a match are created in Sales.")
        run.synchronize(unmatched_ids, TO_CRM, creates=True)
    if sync_after and len(coupled):
        # The direction follows the mapping's update-conflict resolution, as BC's follow-up job does.
        crm_wins = mapping.update_conflict_resolution is UpdateConflictResolution.GET_UPDATE_FROM_INTEGRATION
        pass_ = FROM_CRM if crm_wins or not mapping.direction.to_crm else TO_CRM
        run.synchronize(coupled["bc_id" if pass_ is TO_CRM else "crm_id"].tolist(), pass_)


def uncouple(run: ActionRun, records: list[str]) -> None:
    """BC's Uncouple: remove the couplings and, where the Sales table has BC's company lookup (the
    mapping's company filter, written BC → Sales), reset the Sales record's company (§6.4)."""
    _remove_couplings(run, records, as_uncouple=True)


def delete_coupling(run: ActionRun, records: list[str]) -> None:
    """The Skipped Records page's Delete Coupling: the coupling goes, both records stay as they are."""
    _remove_couplings(run, records, as_uncouple=False)


def match_criteria(
    mapping: IntegrationTableMapping, match_fields: Iterable[str] | None, case_sensitive: bool | None
) -> list[list[MatchField]]:
    """Priority groups of BC → Sales match fields: the mapping's criteria, or the fields given (each at
    its mapping priority, else 1), with case sensitivity overridden when asked."""
    chosen = set(match_fields or ())
    groups: dict[int, list[MatchField]] = {}
    for f in mapping.fields:
        if not (f.bc_field and f.crm_field) or f.status is not FieldStatus.ENABLED:
            continue
        if chosen and f.bc_field not in chosen:
            continue
        if not chosen and not f.match:
            continue
        sensitive = case_sensitive if case_sensitive is not None else bool(f.match and f.match.case_sensitive)
        priority = f.match.priority if f.match else 1
        groups.setdefault(priority, []).append(MatchField(f.bc_field, f.crm_field, sensitive))
    return [groups[p] for p in sorted(groups)]


def _remove_couplings(run: ActionRun, records: list[str], *, as_uncouple: bool) -> None:
    mapping = run.mapping
    with run.exclusive():
        found = run.resolve(records)
        couplings = run.couplings_of(found)
        coupled = set(couplings["bc_id"]) | set(couplings["crm_id"])
        for record in found:
            if record.record_id not in coupled:
                run.say(f"{record_name(record)} is not coupled.")
        if couplings.empty:
            run.record_job(JobType.UNCOUPLING, _own(run))
            return
        removed = run.store.uncouple(mapping.name, bc_ids=couplings["bc_id"].tolist())
        run.count(TO_CRM, uncoupled=removed)
        run.say(f"Uncoupled {removed} record(s).")
        if as_uncouple:
            _uncouple_children(run, couplings["crm_id"].tolist())
        if as_uncouple and mapping.company_filter and mapping.direction.to_crm and this_company(run.services):
            for crm_id in couplings["crm_id"]:
                _reset_company(run, crm_id)
        run.record_job(JobType.UNCOUPLING, _own(run))


def _uncouple_children(run: ActionRun, parent_ids: list[str]) -> None:
    """BC's cascade (§6.4): uncoupling an account also uncouples its contacts — the records of the
    mappings whose Sales rows point at these rows through a parent lookup (`crm_rule_lookups`)."""
    for child in run.services.registry.mappings:
        for field, lookup in child.crm_rule_lookups.items():
            if lookup.entity_set != run.mapping.crm_entity_set:
                continue
            ids: set[str] = set()
            for chunk in range(0, len(parent_ids), ID_CHUNK):
                parents = [uuid.UUID(i) for i in parent_ids[chunk : chunk + ID_CHUNK]]
                for page in run.services.crm.iter_pages(
                    child.crm_entity_set, select=[child.crm_key], filter=odata.in_(f"_{field}_value", parents)
                ):
                    ids.update(str(row[child.crm_key]).lower() for row in page)
            removed = run.store.uncouple(child.name, crm_ids=sorted(ids)) if ids else 0
            if removed:
                run.say(
                    f"Also uncoupled {removed} {child.name} record(s) of these {run.mapping.crm_entity}s."
                )


def _reset_company(run: ActionRun, crm_id: str) -> None:
    """BC's CDS Int. Table Uncouple clears the uncoupled Sales record's company (counted Modified)."""
    try:
        run.services.crm.update(run.mapping.crm_entity_set, crm_id, {f"{COMPANY_LOOKUP}@odata.bind": None})
    except RecordRejected as refused:
        if refused.status != 404:  # a deleted Sales record has no company to reset
            run.fail(TO_CRM, ResolvedRecord(crm_id, Side.CRM, crm_id), f"Company not reset: {refused}")
        return
    run.count(TO_CRM, modified=1)


def _couple_matches(
    run: ActionRun, pairs: pd.DataFrame, source: pd.DataFrame, candidates: pd.DataFrame, *, in_step: bool
) -> pd.DataFrame:
    if pairs.empty:
        return pd.DataFrame(columns=["bc_id", "crm_id"])
    rows = pairs.merge(source[[SOURCE_ID, SOURCE_MODIFIED]], on=SOURCE_ID).merge(
        candidates[[DESTINATION_ID, DESTINATION_MODIFIED]], on=DESTINATION_ID
    )
    frame = pd.DataFrame({"bc_id": rows[SOURCE_ID], "crm_id": rows[DESTINATION_ID]})
    if in_step:  # coupled as in step now: coupling alone moves no data
        frame["bc_synced_on"] = rows[SOURCE_MODIFIED]
        frame["crm_synced_on"] = rows[DESTINATION_MODIFIED]
    outcome = run.store.couple(run.mapping.name, frame, coupled_by=CoupledBy.MATCH)
    run.count(TO_CRM, coupled=outcome.coupled)
    run.say(f"Coupled {outcome.coupled} record(s) by matching.")
    refused = set(outcome.conflicts["bc_id"]) if len(outcome.conflicts) else set()
    return frame[~frame["bc_id"].isin(refused)]


def _in_step(run: ActionRun, bc_id: str, crm_id: str) -> dict:
    """Both records' current modified-on, stored as last synced: the pair counts as unchanged."""
    bc = read_records(run, Side.BC, [bc_id], as_source)
    crm = read_records(run, Side.CRM, [crm_id], as_source)
    return {
        "bc_synced_on": bc[SOURCE_MODIFIED].iloc[0] if len(bc) else None,
        "crm_synced_on": crm[SOURCE_MODIFIED].iloc[0] if len(crm) else None,
    }


def _all_of(run: ActionRun, side: Side) -> pd.DataFrame:
    frames = [f for f in read_pages(run.services, run.mapping, side, None) if len(f)]
    return as_destination(
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), run.mapping, side
    )


def _own(run: ActionRun) -> dict[str, JobCounters]:
    return {name: counters for name, counters in run.counters.items()} or {TO_CRM.value: JobCounters()}
