"""Child mappings inside their parent's load: records written with their parent, never alone.

A mapping with `parent:` (POSTEDSALESLINE-INV under POSTEDSALESINV-INV) has no job of its own. When the
parent's load has written its records, this module, for each child mapping of the pass:

1. reads the child records of the parents due — created in this run, or settled now after their last
   run failed — by the child's `parent_link` field: by parent id chunks, or the whole child table when
   many parents are due (BC sends an invoice's lines once, after creating the invoice);
2. plans them like any pass (couplings, coupled counterparts, the child table's rules), each carrying
   its parent's source and destination ids (`PARENT_SOURCE_ID`, `PARENT_DESTINATION_ID`), and sets the
   link to the parent's destination record on the children it creates;
3. writes them and records their couplings and errors under the child mapping, in the parent's job;
4. fails the parents whose children failed (a created parent stays coupled, so its retry completes it);
5. runs the parent table's after-children rule, if any, and writes the follow-up updates it returns
   (BC's after-insert code: an invoice's totals and state once its lines exist).

BC marks only the parent when a child fails (engine-semantics §3.2), so a failed parent is read again
by the next run, which plans its children again: the children already written are unchanged then.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Any

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, DESTINATION_MODIFIED, SOURCE_ID, JobCounters, Side, SyncPass
from bcsync.engine.planner import count_actions
from bcsync.pipeline.apply import CREATED, read_records, record_outcome, write_plan
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.frames import as_destination, as_source, oriented_couplings
from bcsync.pipeline.reading import ID_CHUNK, read_pages
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import SideColumns, passes, side_columns
from bcsync.pipeline.transform import plan_records
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import RuleKind, rule_for
from bcsync.wire import odata

log = logging.getLogger(__name__)

PARENT_SOURCE_ID = "parent_source_id"
PARENT_DESTINATION_ID = "parent_destination_id"
SETTLED = ("insert", "modify", "unchanged")
READ_WHOLE_TABLE_FROM = 300  # parents: above this, one paged read of the child table beats id chunks


def load_children(
    parent: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    job_id: str,
    outcome: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, JobCounters]]:
    """The parent's outcome once its children and follow-ups are written, and each child's counters."""
    counters: dict[str, JobCounters] = {}
    due = _parents_due(parent, sync_pass, services, outcome)
    for child in services.registry.children(parent.name):
        if sync_pass not in passes(child):
            continue
        parents = outcome[outcome[SOURCE_ID].isin(due) & outcome["action"].isin(SETTLED)]
        written = _sync_children(child, sync_pass, run, services, job_id, parents)
        counters[child.name] = count_actions(written["action"]) if len(written) else JobCounters()
        log.info("%s %s: %s", child.name, sync_pass.value, counters[child.name].as_dict())
        outcome = _fail_parents_of_failed_children(outcome, child, written)
    return _follow_up(parent, sync_pass, services, job_id, outcome, due), counters


def _parents_due(
    parent: IntegrationTableMapping, sync_pass: SyncPass, services: Services, outcome: pd.DataFrame
) -> set[str]:
    """The parents whose children (and follow-up) are written in this run: those created now, and
    those whose last run failed (on a child, say) and that are settled now. As in BC, whose code sends
    an invoice's lines once, right after the invoice is created: a later change of the parent alone
    does not send its children again."""
    failed_before = services.store.failed_last_time(parent.name, sync_pass.value)
    source_column = "bc_id" if sync_pass is SyncPass.TO_CRM else "crm_id"
    retried = set(failed_before[source_column]) if len(failed_before) else set()
    again = outcome["action"].isin(SETTLED) & outcome[SOURCE_ID].isin(retried)
    due = outcome[outcome[DESTINATION_ID].notna() & ((outcome["action"] == "insert") | again)]
    return set(due[SOURCE_ID])


# ---- the children ----------------------------------------------------------------------------------


def _sync_children(
    child: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    job_id: str,
    parents: pd.DataFrame,
) -> pd.DataFrame:
    if parents.empty:
        return pd.DataFrame(columns=[SOURCE_ID, "action", PARENT_SOURCE_ID])
    destination_of = dict(zip(parents[SOURCE_ID], parents[DESTINATION_ID], strict=True))
    source = child_records(child, sync_pass.source, services, list(destination_of))
    if source.empty:
        return pd.DataFrame(columns=[SOURCE_ID, "action", PARENT_SOURCE_ID])
    source[PARENT_DESTINATION_ID] = source[PARENT_SOURCE_ID].map(destination_of)
    side_ids = {"bc_ids" if sync_pass is SyncPass.TO_CRM else "crm_ids": source[SOURCE_ID].tolist()}
    couplings = oriented_couplings(services.store.couplings_for(child.name, **side_ids), sync_pass)
    destination = read_records(
        services, child, sync_pass.destination, couplings[DESTINATION_ID].tolist(), as_destination
    )
    plan = plan_records(child, sync_pass, run, services, source, couplings, destination)
    plan = _linked_to_parents(child, sync_pass, plan, source)
    written = write_plan(child, sync_pass, services, job_id, plan)
    record_outcome(child, sync_pass, run, services, job_id, written)
    written[PARENT_SOURCE_ID] = written[SOURCE_ID].map(source.set_index(SOURCE_ID)[PARENT_SOURCE_ID])
    return written


def child_records(
    child: IntegrationTableMapping, side: Side, services: Services, parent_ids: list[str]
) -> pd.DataFrame:
    """The child records of these parents on `side` (engine columns), each with its `PARENT_SOURCE_ID`."""
    columns, link = _with_link(side_columns(child, side), child, side)
    wanted = {str(i).lower() for i in parent_ids}
    if len(wanted) > READ_WHOLE_TABLE_FROM:
        pages = read_pages(services, child, side, None, columns=columns)
    else:
        ordered = sorted(wanted)
        pages = (
            page
            for start in range(0, len(ordered), ID_CHUNK)
            for page in read_pages(
                services,
                child,
                side,
                odata.in_(link, [uuid.UUID(i) for i in ordered[start : start + ID_CHUNK]]),
                columns=columns,
            )
        )
    frames = []
    for page in pages:
        if len(page):
            page = page.assign(**{PARENT_SOURCE_ID: page[link].astype(str).str.lower()})
            frames.append(page[page[PARENT_SOURCE_ID].isin(wanted)])
    if not frames:
        return pd.DataFrame(columns=[SOURCE_ID, PARENT_SOURCE_ID])
    return as_source(pd.concat(frames, ignore_index=True), child, side)


def _with_link(columns: SideColumns, child: IntegrationTableMapping, side: Side) -> tuple[SideColumns, str]:
    """The side's columns with the link to the parent added (read on the child's primary endpoint)."""
    assert child.parent_link is not None  # validated: a child mapping has one
    if side is Side.BC:
        endpoint, field = child.bc_endpoint.api.value, child.parent_link.bc_field
        link = field
    else:
        endpoint, field = "", child.parent_link.crm_field
        link = f"_{field}_value"
    fields = dict(columns.fields_by_endpoint)
    fields[endpoint] = tuple(dict.fromkeys([*fields.get(endpoint, ()), field]))
    lookups = columns.lookup_fields | ({field} if side is Side.CRM else set())
    return replace(columns, fields_by_endpoint=fields, lookup_fields=frozenset(lookups)), link


def _linked_to_parents(
    child: IntegrationTableMapping, sync_pass: SyncPass, plan: pd.DataFrame, source: pd.DataFrame
) -> pd.DataFrame:
    """A child created now points at its parent's destination record (the lookup BC sets before insert)."""
    assert child.parent_link is not None
    field = child.parent_link.crm_field if sync_pass is SyncPass.TO_CRM else child.parent_link.bc_field
    parent_of = source.set_index(SOURCE_ID)[PARENT_DESTINATION_ID]
    for index in plan.index[plan["action"] == "insert"]:
        parent_id = parent_of.get(plan.at[index, SOURCE_ID])
        plan.at[index, "payload"] = {**(plan.at[index, "payload"] or {}), field: parent_id}
    return plan


def _fail_parents_of_failed_children(
    outcome: pd.DataFrame, child: IntegrationTableMapping, written: pd.DataFrame
) -> pd.DataFrame:
    """A parent fails with its first failed child's reason; one created now keeps its coupling."""
    failed = written[written["action"] == "fail"] if len(written) else written
    if failed.empty:
        return outcome
    first = failed.drop_duplicates(PARENT_SOURCE_ID).set_index(PARENT_SOURCE_ID)
    reasons = {
        parent: f"{child.bc_table} {row.get('label') or row[SOURCE_ID]}: {row['error']}"
        for parent, row in first.iterrows()
    }
    return fail_parents(outcome, reasons)


def fail_parents(outcome: pd.DataFrame, reasons: dict[str, Any]) -> pd.DataFrame:
    """Mark these parents (source id → reason) failed; those created in this run stay coupled."""
    hit = outcome[SOURCE_ID].isin(reasons) & outcome["action"].isin(SETTLED)
    if not hit.any():
        return outcome
    if CREATED not in outcome.columns:
        outcome[CREATED] = False
    outcome.loc[hit & (outcome["action"] == "insert"), CREATED] = True
    outcome.loc[hit, "error"] = outcome.loc[hit, SOURCE_ID].map(reasons)
    outcome.loc[hit, "action"] = "fail"
    return outcome


# ---- the parent's follow-up ------------------------------------------------------------------------


def _follow_up(
    parent: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    job_id: str,
    outcome: pd.DataFrame,
    due: set[str],
) -> pd.DataFrame:
    """BC's after-insert code of the parent table: the follow-up updates its after-children rule asks
    for, for the parents due whose children all went through."""
    rule = rule_for(parent.bc_table, sync_pass, RuleKind.AFTER_CHILDREN)
    if rule is None or not due:
        return outcome
    rows = outcome[outcome[SOURCE_ID].isin(due) & outcome["action"].isin(SETTLED)]
    if rows.empty:
        return outcome
    written = rows[[SOURCE_ID, DESTINATION_ID, "action"]].assign(payload=None, error=None)
    written = written.reset_index(drop=True)
    source = read_records(services, parent, sync_pass.source, written[SOURCE_ID].tolist(), as_source)
    follow = rule(parent, written, source, services)
    updates = follow[follow["action"] == "modify"]
    if updates.empty:
        return outcome
    done = write_plan(parent, sync_pass, services, job_id, updates.reset_index(drop=True))
    modified = done[done["action"] == "modify"].set_index(SOURCE_ID)[DESTINATION_MODIFIED]
    ok = pd.to_datetime(modified, utc=True, format="ISO8601")
    refreshed = outcome[SOURCE_ID].isin(ok.index)
    outcome.loc[refreshed, DESTINATION_MODIFIED] = outcome.loc[refreshed, SOURCE_ID].map(ok)
    failures = done[done["action"] == "fail"]
    return fail_parents(outcome, dict(zip(failures[SOURCE_ID], failures["error"], strict=True)))
