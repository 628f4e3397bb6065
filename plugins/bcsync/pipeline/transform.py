"""Transform: plan every candidate record of each pass with the pure engine, and stage the plans."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, Side, SyncPass
from bcsync.engine.planner import count_actions, plan_pass, transfers_any
from bcsync.engine.values import same_value
from bcsync.pipeline.config_templates import apply_config_templates
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.frames import as_destination, as_source
from bcsync.pipeline.lookups import build_lookups
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import pass_fields, pass_spec, passes
from bcsync.pipeline.staging import read_frame, write_frames
from bcsync.registry.model import IntegrationTableMapping
from bcsync.registry.service_metadata import BusinessCentralMetadata, DataverseMetadata
from bcsync.results import CoupleResult, ExtractResult, PassPlan, PlanPartition, PlanResult
from bcsync.rules import RuleKind, apply_source_rules, apply_table_rules, rule_for
from bcsync.wire.errors import RecordRejected

log = logging.getLogger(__name__)
M = TypeVar("M", BusinessCentralMetadata, DataverseMetadata)

# What users recognise a record by in logs and the error store, per side.
# The custom pages name the number `no` (caption rule): the statistics page, resources.
LABEL_FIELDS = {
    Side.BC: ("number", "no", "code", "displayName"),
    Side.CRM: ("name", "fullname", "currencyname"),
}
# The record's name (the error list's Name column), per side.
NAME_FIELDS = {Side.BC: ("displayName", "description"), Side.CRM: ("name", "fullname", "currencyname")}


def transform(
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    extracts: Mapping[Side, ExtractResult],
    coupled: CoupleResult,
) -> PlanResult:
    """Plan each pass: its source candidates, their couplings and coupled destinations, read once."""
    result: dict[str, PassPlan] = {}
    for sync_pass in passes(mapping, run.direction):
        extract = extracts.get(sync_pass.source)
        raw = read_frame(extract.staged) if extract and extract.staged else pd.DataFrame()
        source = as_source(raw, mapping, sync_pass.source) if len(raw) else pd.DataFrame(columns=[SOURCE_ID])
        step = coupled.passes[sync_pass.value]
        couplings = read_frame(step.couplings)
        destination = as_destination(read_frame(step.destination), mapping, sync_pass.destination)
        plan = plan_records(mapping, sync_pass, run, services, source, couplings, destination)
        log.info("%s %s plan: %s", mapping.name, sync_pass.value, _summary(plan))
        if run.dry_run:
            _log_plan(mapping, sync_pass, plan)
        result[sync_pass.value] = _staged_in_partitions(mapping, sync_pass, run, folder, plan)
    return PlanResult(passes=result)


def _staged_in_partitions(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    folder: ObjectStoragePath,
    plan: pd.DataFrame,
) -> PassPlan:
    """Stage the plan as one part per partition of at most `run.partition_size` records, so each load
    task reads only its own part. A dry run, and a pass whose table rule follows up on the pass's
    outcome (once, over all its records), stay one partition."""
    size = len(plan)
    if not (run.dry_run or rule_for(mapping.bc_table, sync_pass, RuleKind.FOLLOW_UP)):
        size = max(1, run.partition_size)
    bounds = [*range(0, len(plan), size), len(plan)] if len(plan) else [0, 0]
    ranges = list(itertools.pairwise(bounds))
    staged = write_frames(folder, f"plan_{sync_pass.value}", (plan.iloc[a:b] for a, b in ranges))
    actions = plan["action"]
    partitions = tuple(
        PlanPartition(index=i, of=len(ranges), start=a, stop=b, planned=count_actions(actions.iloc[a:b]))
        for i, (a, b) in enumerate(ranges)
    )
    if len(partitions) > 1:
        log.info("%s %s: %d partitions of ≤ %d records", mapping.name, sync_pass.value, len(ranges), size)
    return PassPlan(plan=staged, planned=count_actions(actions), partitions=partitions)


def plan_records(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    source: pd.DataFrame,
    couplings: pd.DataFrame,
    destination: pd.DataFrame,
) -> pd.DataFrame:
    """The plan of one pass for these records (engine columns), with BC's table rules applied."""
    kind = {
        "full_sync": run.kind is RunKind.FULL or run.creates,  # both run with "only coupled" off
        "force_modify": run.force_modify,
        "restore_deleted": run.restores_deleted,
    }
    spec = pass_spec(mapping, sync_pass, services.registry, **kind)
    source = apply_source_rules(mapping, sync_pass, source)
    # The lookups and the destination's field lengths serve only records whose values are transferred:
    # a pass whose candidates are all unchanged since their last synchronization reads neither.
    transfers = transfers_any(spec, source, couplings, destination)
    if transfers:
        lengths = destination_lengths(mapping, sync_pass, services)
        spec = pass_spec(mapping, sync_pass, services.registry, **kind, max_lengths=lengths)
    lookups = build_lookups(mapping, sync_pass, services) if transfers else {}
    plan = plan_pass(spec, source, couplings, destination, lookups)
    plan = apply_config_templates(mapping, sync_pass, plan, services)
    plan = apply_table_rules(mapping, sync_pass, plan, source, services)
    if not spec.force_modify:
        plan = without_unchanged_values(plan, destination, forced=_forced_sources(couplings))
    plan["label"] = _labels(source, LABEL_FIELDS[sync_pass.source], len(plan))
    plan["name"] = _labels(source, NAME_FIELDS[sync_pass.source], len(plan))
    plan["bc_number"] = (
        plan["label"] if sync_pass is SyncPass.TO_CRM else _destination_numbers(plan, destination)
    )
    plan["etag"] = _etags(plan, destination)
    return plan


def without_unchanged_values(
    plan: pd.DataFrame, destination: pd.DataFrame, forced: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Modifies whose rule-set values the destination already holds: those values left out, and a
    modify left with nothing to write is Unchanged (BC §1.6: a field counts as modified only if the
    destination value actually changes, whoever set it — a mapping or a table's code). Records whose
    coupling asks for a forced write (`forced` source ids: BC's ForceModify) are written as planned."""
    modifies = plan.index[(plan["action"] == "modify") & ~plan[SOURCE_ID].isin(forced)] if len(plan) else []
    if not len(modifies) or destination.empty:
        return plan
    current = destination.drop_duplicates(DESTINATION_ID).set_index(DESTINATION_ID)
    for index in modifies:
        destination_id = plan.at[index, DESTINATION_ID]
        if destination_id not in current.index:
            continue
        record = current.loc[destination_id]
        payload = {
            name: value
            for name, value in (plan.at[index, "payload"] or {}).items()
            if name not in current.columns or not same_value(value, record[name])
        }
        plan.at[index, "payload"] = payload or None
        if not payload:
            plan.at[index, "action"] = "unchanged"
    return plan


def _forced_sources(couplings: pd.DataFrame) -> frozenset[str]:
    """The source ids whose coupling asks for a write whatever changed (`force_modify`)."""
    if "force_modify" not in couplings.columns or couplings.empty:
        return frozenset()
    return frozenset(couplings.loc[couplings["force_modify"].fillna(False).astype(bool), SOURCE_ID])


def destination_lengths(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, services: Services
) -> dict[str, int]:
    """The text lengths of the pass's destination fields, from the destination's metadata (BC's
    `$metadata` of each API page written, Dataverse's `EntityDefinitions`), read once per hook: BC
    truncates text to the destination field's length instead of failing the record."""
    try:
        if sync_pass is SyncPass.FROM_CRM:
            bc = _metadata(services.bc, BusinessCentralMetadata)
            lengths = {}
            for field, _, destination in pass_fields(mapping, sync_pass):
                endpoint = mapping.endpoint_of(field) or mapping.bc_endpoint
                length = bc.text_lengths(endpoint.api.value, endpoint.entity_set).get(destination)
                if length:
                    lengths[destination] = length
            return lengths
        crm = _metadata(services.crm, DataverseMetadata).text_lengths(mapping.crm_entity)
        return {d: crm[d] for _, _, d in pass_fields(mapping, sync_pass) if d in crm}
    except RecordRejected as refused:
        # Without lengths the service refuses text that is too long, record by record, as before.
        log.warning(
            "%s %s: text is not truncated, no field lengths (%s)", mapping.name, sync_pass.value, refused
        )
        return {}


_METADATA: WeakKeyDictionary[object, Any] = WeakKeyDictionary()


def _metadata(hook: Any, kind: type[M]) -> M:
    """One metadata reader per hook: a task's hook reads each document once, whatever it plans."""
    if hook not in _METADATA:
        _METADATA[hook] = kind(hook)
    return _METADATA[hook]


def _labels(source: pd.DataFrame, fields: tuple[str, ...], rows: int) -> list[str | None]:
    for field in fields:
        if field in source.columns:
            # Through numpy: iterating an Arrow-backed column costs microseconds per value.
            values = source[field].to_numpy(dtype=object, na_value=None)
            return [v if v is None or type(v) is str else str(v) for v in values]
    return [None] * rows


def _destination_numbers(plan: pd.DataFrame, destination: pd.DataFrame) -> list[str | None]:
    """The coupled BC record's No./Code of each Sales record (Sales → BC): what BC's error list shows."""
    field = next((f for f in LABEL_FIELDS[Side.BC] if f in destination.columns), None)
    if field is None or destination.empty:
        return [None] * len(plan)
    numbers = dict(zip(destination["destination_id"], destination[field], strict=True))
    return [None if pd.isna(n := numbers.get(d)) else str(n) for d in plan["destination_id"]]


def _etags(plan: pd.DataFrame, destination: pd.DataFrame) -> list[str | None]:
    """The destination's ETag as read, so BC updates are conditional on nobody having changed it since."""
    if "@odata.etag" not in destination.columns or destination.empty:
        return [None] * len(plan)
    etags = destination["@odata.etag"].tolist()
    by_id = dict(zip(destination["destination_id"].tolist(), etags, strict=True))
    return [by_id.get(d) for d in plan["destination_id"].tolist()]


def _summary(plan: pd.DataFrame) -> str:
    counts = plan["action"].value_counts()
    return ", ".join(f"{action} {count}" for action, count in counts.items()) or "nothing to do"


def _log_plan(mapping: IntegrationTableMapping, sync_pass: SyncPass, plan: pd.DataFrame) -> None:
    """Dry run: one line per record that would change, as a reviewer wants to read it."""
    for row in plan.itertuples(index=False):
        if row.action in ("ignore", "unchanged"):
            continue
        detail = row.error if row.action == "fail" else (row.payload or "")
        log.info(
            "DRY RUN %s %s %s %s (%s) → %s: %s",
            mapping.name,
            sync_pass.value,
            row.action.upper(),
            row.source_id,
            row.label or "",
            row.destination_id or "new",
            detail,
        )
