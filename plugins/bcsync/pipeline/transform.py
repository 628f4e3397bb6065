"""Transform: plan every candidate record of each pass with the pure engine, and stage the plans."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.engine.keys import KeyIndex
from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, LookupTable, PassSpec, Side, SyncPass
from bcsync.engine.planner import align, plan_aligned, transfers_any
from bcsync.engine.values import same_value
from bcsync.pipeline.config_templates import apply_config_templates
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.frames import as_destination, as_source, concat_alike
from bcsync.pipeline.lookups import build_lookups
from bcsync.pipeline.partitions import Partitioner, pass_plan
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import pass_fields, pass_spec, passes
from bcsync.pipeline.staging import iter_frames, read_frame, write_frames
from bcsync.registry.model import IntegrationTableMapping
from bcsync.registry.service_metadata import BusinessCentralMetadata, DataverseMetadata
from bcsync.results import CoupleResult, ExtractResult, PassPlan, PlanResult, StagedFrame
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


# Source records planned together: a BC page. The plan's payload dicts are held for one chunk at a time.
CHUNK_ROWS = 20_000
WHOLE = sys.maxsize  # a partition size that keeps the pass in one partition


def transform(
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    extracts: Mapping[Side, ExtractResult],
    coupled: CoupleResult,
) -> PlanResult:
    """Plan each pass: its source candidates chunk by chunk, next to their couplings and coupled
    destinations (read once), and stage the plans as they are made."""
    result: dict[str, PassPlan] = {}
    for sync_pass in passes(mapping, run.direction):
        step = coupled.passes[sync_pass.value]
        couplings = read_frame(step.couplings)
        destination = as_destination(read_frame(step.destination), mapping, sync_pass.destination)
        actions: list[str] = []
        plans = _plans(
            mapping, sync_pass, run, services, extracts.get(sync_pass.source), couplings, destination
        )
        whole = run.dry_run or rule_for(mapping.bc_table, sync_pass, RuleKind.FOLLOW_UP)
        partitioner = Partitioner(WHOLE if whole else max(1, run.partition_size))
        staged = write_frames(folder, f"plan_{sync_pass.value}", partitioner.parts(_noting(plans, actions)))
        all_actions = pd.Series(actions, dtype=object)
        log.info("%s %s plan: %s", mapping.name, sync_pass.value, _summary(all_actions))
        name = f"{mapping.name} {sync_pass.value}"
        result[sync_pass.value] = pass_plan(name, staged, all_actions, partitioner.bounds)
    return PlanResult(passes=result)


def _plans(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    extract: ExtractResult | None,
    couplings: pd.DataFrame,
    destination: pd.DataFrame,
) -> Iterator[pd.DataFrame]:
    """The pass's plan, a chunk of source records at a time (see `_source_chunks`)."""
    planner = PassPlanner(mapping, sync_pass, run, services)
    related = _Related.of(couplings, destination)
    for source in _source_chunks(mapping, sync_pass, extract):
        plan = planner.plan(source, *related.of_sources(source))
        if run.dry_run:
            _log_plan(mapping, sync_pass, plan)
        yield plan


def _noting(plans: Iterable[pd.DataFrame], actions: list[str]) -> Iterator[pd.DataFrame]:
    """The plans, while keeping each record's action (for the counters of each partition)."""
    for plan in plans:
        actions.extend(plan["action"].tolist())
        yield plan


def _split_at(frames: Iterable[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """The rows of `frames` again, as frames of exactly `size` rows (the last one fewer): a part per
    partition, whatever the chunks they were planned in. An empty plan is one empty frame."""
    held: list[pd.DataFrame] = []
    rows = 0
    for frame in frames:
        if not held and not len(frame):
            held, rows = [frame], 0  # keeps the columns of a plan with no rows
            continue
        held = [f for f in held if len(f)] + [frame]
        rows += len(frame)
        while rows >= size:
            joined = concat_alike(held)
            yield joined.iloc[:size].reset_index(drop=True)
            rest = joined.iloc[size:]
            held, rows = [rest], len(rest)
    if rows or held:
        joined = concat_alike(held)
        if rows or not len(joined):
            yield joined.reset_index(drop=True)


def _source_chunks(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, extract: ExtractResult | None
) -> Iterator[pd.DataFrame]:
    """The source records in engine columns, `CHUNK_ROWS` or so at a time, in staged order. A record
    read twice is planned once, with its last values (`as_source` within a chunk, the key column
    across chunks). A table whose rules look at all of a pass's records at once gets one chunk."""
    if extract is None or extract.staged is None:
        yield pd.DataFrame(columns=[SOURCE_ID])
        return
    key = mapping.bc_key if sync_pass.source is Side.BC else mapping.crm_key
    ids = read_frame(extract.staged, [key])
    # Read twice (e.g. a record changed while its pages were read): planned at its last row only.
    latest = ~ids[key].astype(str).str.lower().duplicated(keep="last").to_numpy() if key in ids else None
    whole = any(rule_for(mapping.bc_table, sync_pass, kind) for kind in (RuleKind.PLAN, RuleKind.SOURCE))
    planned_any = False
    for raw in _split_at(_latest_rows(extract.staged, latest), WHOLE if whole else CHUNK_ROWS):
        if len(raw):
            planned_any = True
            yield as_source(raw, mapping, sync_pass.source)
    if not planned_any:
        yield pd.DataFrame(columns=[SOURCE_ID])


def _latest_rows(staged: StagedFrame, latest: np.ndarray | None) -> Iterator[pd.DataFrame]:
    """The staged parts with rows, each without the rows `latest` (over all rows) leaves out."""
    offset = 0
    for part in iter_frames(staged):
        if len(part):
            keep = None if latest is None else latest[offset : offset + len(part)]
            # Usually every row is the record's last: the part as it is, not a copy of all its columns.
            yield part if keep is None or keep.all() else part[keep]
            offset += len(part)


@dataclass
class _Related:
    """A pass's couplings and coupled destination records, indexed once so that each chunk of source
    records takes its own rows without scanning them all again."""

    couplings: pd.DataFrame
    destination: pd.DataFrame
    by_source: KeyIndex | None  # None: ids not unique, every chunk gets every row (the planner says why)
    by_destination: KeyIndex | None

    @classmethod
    def of(cls, couplings: pd.DataFrame, destination: pd.DataFrame) -> _Related:
        by_source = KeyIndex(couplings[SOURCE_ID]) if SOURCE_ID in couplings.columns else None
        by_destination = (
            KeyIndex(destination[DESTINATION_ID]) if DESTINATION_ID in destination.columns else None
        )
        return cls(
            couplings,
            destination,
            by_source if by_source is not None and by_source.is_unique else None,
            by_destination if by_destination is not None and by_destination.is_unique else None,
        )

    def of_sources(self, source: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self.by_source is None or self.by_destination is None or not len(source):
            return self.couplings, self.destination
        at = self.by_source.positions(source[SOURCE_ID])
        couplings = self.couplings.take(at[at >= 0]).reset_index(drop=True)
        found = self.by_destination.positions(couplings[DESTINATION_ID])
        destination = self.destination.take(np.sort(found[found >= 0])).reset_index(drop=True)
        return couplings, destination


class PassPlanner:
    """Plans a pass's records, a chunk at a time: what does not depend on the records (the pass's spec,
    the destination's field lengths, the lookup tables) is read once, when a chunk first needs it."""

    def __init__(
        self, mapping: IntegrationTableMapping, sync_pass: SyncPass, run: RunContext, services: Services
    ) -> None:
        self.mapping, self.sync_pass, self.services = mapping, sync_pass, services
        self.kind = {
            "full_sync": run.kind is RunKind.FULL or run.creates,  # both run with "only coupled" off
            "force_modify": run.force_modify,
            "restore_deleted": run.restores_deleted,
        }
        self.spec = pass_spec(mapping, sync_pass, services.registry, **self.kind)
        self._transferring: tuple[PassSpec, dict[str, LookupTable]] | None = None

    def plan(self, source: pd.DataFrame, couplings: pd.DataFrame, destination: pd.DataFrame) -> pd.DataFrame:
        """The plan of these records (engine columns), with BC's table rules applied."""
        mapping, sync_pass, services = self.mapping, self.sync_pass, self.services
        source = apply_source_rules(mapping, sync_pass, source)
        spec, lookups = self.spec, {}
        rows = align(source, couplings, destination)
        # The lookups and the destination's field lengths serve only records whose values are
        # transferred: a pass whose candidates are all unchanged since their last sync reads neither.
        if transfers_any(spec, rows):
            spec, lookups = self._for_transfers()
        plan = plan_aligned(spec, rows, lookups)
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

    def _for_transfers(self) -> tuple[PassSpec, dict[str, LookupTable]]:
        if self._transferring is None:
            mapping, sync_pass, services = self.mapping, self.sync_pass, self.services
            lengths = destination_lengths(mapping, sync_pass, services)
            spec = pass_spec(mapping, sync_pass, services.registry, **self.kind, max_lengths=lengths)
            self._transferring = spec, build_lookups(mapping, sync_pass, services)
        return self._transferring


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
    return PassPlanner(mapping, sync_pass, run, services).plan(source, couplings, destination)


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


def _labels(
    source: pd.DataFrame, fields: tuple[str, ...], rows: int
) -> list[str | None] | pd.api.extensions.ExtensionArray:
    for field in fields:
        if field in source.columns:
            column = source[field]
            if column.dtype == "str" and column.notna().any():
                return column.array  # the `str` column pandas makes of the list below anyway
            # Through numpy: iterating an Arrow-backed column costs microseconds per value.
            values = column.to_numpy(dtype=object, na_value=None)
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
    etags = destination["@odata.etag"].to_numpy(dtype=object)  # as `tolist`: NaN where none was read
    ids = KeyIndex(destination[DESTINATION_ID])
    if not ids.is_unique:  # as a dict of them: the last row of an id
        by_id = dict(zip(destination[DESTINATION_ID].tolist(), etags, strict=True))
        return [by_id.get(d) for d in plan[DESTINATION_ID].tolist()]
    at = ids.positions(plan[DESTINATION_ID])
    found = np.full(len(plan), None, dtype=object)
    found[at >= 0] = etags[at[at >= 0]]
    return found.tolist()


def _summary(actions: pd.Series) -> str:
    counts = actions.value_counts()
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
