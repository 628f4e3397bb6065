"""Plan one pass of a mapping: for each source record, what to do to its destination and why.

The plan is a frame with one row per source record (see `PLAN_COLUMNS`). The pipeline applies it
with the service hooks and feeds the outcome back to the coupling store; this module only decides.

All records of a pass are decided together, on columns: the source is aligned with its couplings and
their destination records by id, and each of BC's per-record rules (cu 5345) becomes a mask over
those rows. Only the payload dicts are built record by record, once, at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bcsync.engine.changes import modified_since_columns
from bcsync.engine.keys import KeyIndex
from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    DeletionConflictResolution,
    JobCounters,
    LookupTable,
    PassSpec,
    RecordAction,
    SyncPass,
    UpdateConflictResolution,
)
from bcsync.engine.transform import TransferredColumns, transfer_columns
from bcsync.engine.values import Cells, python_values, same_values

FAILURE = "Failure"

PLAN_COLUMNS = [
    SOURCE_ID,
    DESTINATION_ID,
    "action",
    "payload",  # destination field → value: every mapped field on insert, the changed ones on modify
    "error",
    SOURCE_MODIFIED,
    DESTINATION_MODIFIED,
    "conflict_resolved",  # both sides changed and this pass won: the losing side is sent again next time
    "replaces_coupling",  # a restored deleted counterpart: the old coupling is replaced
]

# Couplings oriented for a pass: the columns the planner reads.
COUPLING_COLUMNS = [
    SOURCE_ID,
    DESTINATION_ID,
    "source_synced_on",
    "destination_synced_on",
    "last_result",
    "skipped",
    # optional: pairs to write whatever changed, as BC's follow-up job after match-based coupling does
    "force_modify",
]

_WINNER = {
    UpdateConflictResolution.SEND_UPDATE_TO_INTEGRATION: SyncPass.TO_CRM,
    UpdateConflictResolution.GET_UPDATE_FROM_INTEGRATION: SyncPass.FROM_CRM,
}


def plan_pass(
    spec: PassSpec,
    source: pd.DataFrame,
    couplings: pd.DataFrame,
    destination: pd.DataFrame,
    lookups: Mapping[str, LookupTable] | None = None,
) -> pd.DataFrame:
    """Decide every source record of one pass.

    `source` holds the candidate source records (id, modified-on, mapped source fields);
    `couplings` the couplings of this mapping oriented for the pass (COUPLING_COLUMNS);
    `destination` the current destination records of the coupled candidates (id, modified-on,
    mapped destination fields). A coupled destination missing from it has been deleted.
    """
    return plan_aligned(spec, align(source, couplings, destination), lookups)


def align(source: pd.DataFrame, couplings: pd.DataFrame, destination: pd.DataFrame) -> Aligned:
    """The pass's records aligned once, for `transfers_any` and then `plan_aligned` (see `plan_pass`)."""
    return Aligned.of(source, couplings, destination)


def plan_aligned(
    spec: PassSpec, rows: Aligned, lookups: Mapping[str, LookupTable] | None = None
) -> pd.DataFrame:
    """`plan_pass` of records already aligned with their couplings and destination records."""
    if not rows.size:
        return pd.DataFrame([], columns=PLAN_COLUMNS)
    plan = _Plan(rows.size)
    plan.destination_id[rows.coupled] = rows.destination_id[rows.coupled]
    uncoupled, deleted, _, present, forced, changed, writes = _masks(spec, rows)

    # Uncoupled: ignored under "Synch. Only Coupled Records", else created.
    plan.action[uncoupled] = (RecordAction.IGNORE if spec.only_coupled else RecordAction.INSERT).value
    plan.action[rows.skipped] = RecordAction.SKIP.value

    # Deleted counterpart (§2.2): fail, restore (create again) or uncouple.
    if spec.deletion_conflict is DeletionConflictResolution.RESTORE_RECORDS:
        plan.action[deleted] = RecordAction.INSERT.value
        plan.destination_id[deleted] = None
        plan.replaces_coupling[deleted] = True  # unless the transfer fails, below
    elif spec.deletion_conflict is DeletionConflictResolution.REMOVE_COUPLING:
        plan.action[deleted] = RecordAction.REMOVE_COUPLING.value
    else:
        plan.fail(
            deleted,
            f"The {spec.source_caption or 'source'} record cannot be updated because it is coupled "
            "to a deleted record.",
        )

    plan.action[present & ~changed] = RecordAction.UNCHANGED.value

    transferred = transfer_columns(spec.fields, rows.source_for(spec, writes), lookups or {}, _label(spec))
    at = np.flatnonzero(writes)  # record of each transferred row
    failed = transferred.failed
    plan.error[at[failed]] = transferred.errors[failed]
    plan.action[at[failed]] = RecordAction.FAIL.value
    plan.replaces_coupling[at[failed]] = False

    # Coupled and changed: compare with the destination, then look for an update conflict (§2.1).
    compare = changed[at] & ~failed
    differs = _differing(transferred, rows, at, compare)
    conflicts = _conflicts(spec, rows, at, compare & ~forced[at], differs)
    conflict, resolved = _resolve_conflicts(plan, spec, at, conflicts)
    normal = compare & ~conflict
    modify = normal & (forced[at] | np.logical_or.reduce([np.zeros(len(at), bool), *differs.values()]))
    plan.action[at[normal & ~modify]] = RecordAction.UNCHANGED.value  # nothing mapped changed (§1.6)
    plan.action[at[modify]] = RecordAction.MODIFY.value

    # Payloads: every transferred field on insert and forced modify, the differing ones otherwise.
    inserts = ~failed & ~changed[at]
    everything = inserts | (compare & forced[at])
    include = {name: transferred.written[name] & (everything | differs[name]) for name in transferred.fields}
    chosen = np.flatnonzero(inserts | modify | resolved)
    payloads = np.full(len(chosen), None, dtype=object)
    payloads[:] = transferred.records(chosen, include)
    plan.payload[at[chosen]] = payloads
    return plan.frame(rows)


def transfers_any(spec: PassSpec, rows: Aligned) -> bool:
    """Whether planning these records transfers any field value (a create, a restore, or a changed
    coupled record to compare): only then does the plan need the lookup tables and the destination's
    field lengths. Records unchanged since their last synchronization, skipped or ignored need none."""
    if not rows.size:
        return False
    return bool(_masks(spec, rows)[-1].any())


def _masks(spec: PassSpec, rows: Aligned) -> tuple[np.ndarray, ...]:
    """The rows that are uncoupled, coupled to a deleted record, to be restored, present at the
    destination, forced, changed (to compare), and transferred (every write)."""
    uncoupled = ~rows.coupled
    deleted = rows.coupled & ~rows.skipped & (rows.at_destination < 0)
    restore = deleted & (spec.deletion_conflict is DeletionConflictResolution.RESTORE_RECORDS)
    present = rows.at_destination >= 0
    forced = rows.forced | spec.force_modify  # written whatever changed, no conflict check (§1.3 ForceModify)
    changed = _changed(spec, rows, present, forced)
    writes = (uncoupled & (not spec.only_coupled)) | restore | changed
    return uncoupled, deleted, restore, present, forced, changed, writes


@dataclass
class Aligned:
    """Each source record next to its coupling and its current destination record (by position)."""

    source: pd.DataFrame
    couplings: pd.DataFrame
    destination: pd.DataFrame
    at_coupling: np.ndarray  # row of the record's coupling, or -1
    at_destination: np.ndarray  # row of the coupled destination if it exists and the coupling is live
    destination_id: np.ndarray  # the coupling's destination id (object)
    coupled: np.ndarray
    skipped: np.ndarray
    forced: np.ndarray  # the coupling asks for a write whatever changed (`force_modify`)

    @classmethod
    def of(cls, source: pd.DataFrame, couplings: pd.DataFrame, destination: pd.DataFrame) -> Aligned:
        size = len(source)
        at_coupling = (
            _positions(couplings, SOURCE_ID, source[SOURCE_ID]) if size else np.full(0, -1, dtype=np.intp)
        )
        coupled = at_coupling >= 0
        linked = np.flatnonzero(coupled)
        destination_id = np.full(size, None, dtype=object)
        skipped = np.zeros(size, bool)
        forced = np.zeros(size, bool)
        at_destination = np.full(size, -1)
        if len(linked):
            destination_id[linked] = python_values(couplings[DESTINATION_ID].take(at_coupling[linked]))
            if "skipped" in couplings.columns:
                skipped[linked] = _truthy(couplings["skipped"].take(at_coupling[linked]))
            if "force_modify" in couplings.columns:
                forced[linked] = _truthy(couplings["force_modify"].take(at_coupling[linked]))
        live = np.flatnonzero(coupled & ~skipped)
        # As they are: Arrow text is looked up in Arrow. None live: the couplings may have no such column.
        live_ids = (
            couplings[DESTINATION_ID].take(at_coupling[live]) if len(live) else pd.Series([], dtype=object)
        )
        at_destination[live] = _positions(destination, DESTINATION_ID, live_ids)
        return cls(
            source,
            couplings,
            destination,
            at_coupling,
            at_destination,
            destination_id,
            coupled,
            skipped,
            forced,
        )

    @property
    def size(self) -> int:
        return len(self.source)

    def source_column(self, name: str, mask: np.ndarray) -> pd.Series | None:
        return self.source[name].take(np.flatnonzero(mask)) if name in self.source.columns else None

    def coupling_column(self, name: str, mask: np.ndarray) -> pd.Series | None:
        if name not in self.couplings.columns:
            return None  # `dict.get` gives None
        return self.couplings[name].take(self.at_coupling[mask])

    def destination_column(self, name: str, mask: np.ndarray) -> pd.Series | None:
        # The destination id is the index of the old per-record dicts, never one of their fields.
        if name == DESTINATION_ID or name not in self.destination.columns:
            return None
        return self.destination[name].take(self.at_destination[mask])

    def source_for(self, spec: PassSpec, mask: np.ndarray) -> pd.DataFrame:
        """The records to transfer, with only the columns the field mappings read."""
        wanted = dict.fromkeys(rule.source_field for rule in spec.fields if rule.source_field)
        columns = [name for name in wanted if name in self.source.columns]
        return self.source[columns].take(np.flatnonzero(mask))


class _Plan:
    """The plan's columns while they are being decided."""

    def __init__(self, size: int):
        self.destination_id = np.full(size, None, dtype=object)
        self.action = np.full(size, None, dtype=object)
        self.payload = np.full(size, None, dtype=object)
        self.error = np.full(size, None, dtype=object)
        self.conflict_resolved = np.zeros(size, bool)
        self.replaces_coupling = np.zeros(size, bool)

    def fail(self, rows: np.ndarray, message: str) -> None:
        self.action[rows] = RecordAction.FAIL.value
        self.error[rows] = message

    def frame(self, rows: Aligned) -> pd.DataFrame:
        present, everyone = rows.at_destination >= 0, np.ones(rows.size, bool)
        columns = {
            SOURCE_ID: _as_listed(rows.source[SOURCE_ID]),
            DESTINATION_ID: self.destination_id.tolist(),
            "action": self.action.tolist(),
            "payload": self.payload.tolist(),
            "error": self.error.tolist(),
            SOURCE_MODIFIED: _timestamps(rows.source_column(SOURCE_MODIFIED, everyone), rows.size),
            DESTINATION_MODIFIED: _timestamps(
                rows.destination_column(DESTINATION_MODIFIED, present), rows.size, present
            ),
            "conflict_resolved": self.conflict_resolved,
            "replaces_coupling": self.replaces_coupling,
        }
        # Lists of the Python objects the per-record dicts held (typed columns where pandas would infer
        # them anyway): the same dtypes as the old `pd.DataFrame(list_of_dicts)`.
        return pd.DataFrame(columns, columns=PLAN_COLUMNS)


def _as_listed(column: pd.Series) -> pd.Series | list:
    """The column as a plan column of its Python values would be: pandas makes `str` of a list of
    strings, so a `str` column without blanks is kept as it is (no Python string is made)."""
    if column.dtype == "str" and not column.hasnans:
        return column.reset_index(drop=True)
    return python_values(column).tolist()


def _timestamps(column: pd.Series | None, size: int, rows: np.ndarray | None = None) -> pd.Series | list:
    """A modified-on column for the plan: the values at `rows` (all if None), None elsewhere."""
    if column is None:
        return [None] * size
    typed = isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M"
    if typed and column.notna().any():
        # A timestamp column stays one: what pandas infers from its Timestamps and None/NaT anyway.
        if rows is None:
            return column.reset_index(drop=True)
        out = pd.Series(pd.NaT, index=range(size), dtype=column.dtype)
        out.iloc[np.flatnonzero(rows)] = column.array
        return out
    values = python_values(column)
    if rows is None:
        return values.tolist()
    out_values = np.full(size, None, dtype=object)
    out_values[rows] = values
    return out_values.tolist()


def _changed(spec: PassSpec, rows: Aligned, present: np.ndarray, forced: np.ndarray) -> np.ndarray:
    """Present counterparts to process: forced, failed last time (§1.2), or modified since (§1.5)."""
    changed = present.copy()
    if spec.force_modify:
        return changed
    last_result = rows.coupling_column("last_result", present)
    if last_result is None:
        failed = np.zeros(int(present.sum()), bool)
    else:
        failed = (python_values(last_result) == FAILURE).astype(bool)
    check = present & ~forced
    check[np.flatnonzero(present)[failed]] = False
    changed[check] = modified_since_columns(
        rows.source_column(SOURCE_MODIFIED, check),
        rows.coupling_column("source_synced_on", check),
        int(check.sum()),
    )
    return changed


def _differing(
    transferred: TransferredColumns, rows: Aligned, at: np.ndarray, compare: np.ndarray
) -> dict[str, np.ndarray]:
    """Per destination field, whether the transferred value differs from the destination's (§1.6)."""
    differs: dict[str, np.ndarray] = {}
    for name in transferred.fields:
        differs[name] = np.zeros(len(at), bool)
        check = compare & transferred.written[name]
        if not check.any():
            continue
        records = np.zeros(rows.size, bool)
        records[at[check]] = True
        current = rows.destination_column(name, records)
        # `at` is increasing, so records[...] and the transferred rows line up in the same order.
        right = Cells.of(current) if current is not None else Cells.blank(int(check.sum()))
        left = Cells.of_values(transferred.values[name][check])
        differs[name][check] = ~same_values(left, right)
    return differs


def _conflicts(
    spec: PassSpec, rows: Aligned, at: np.ndarray, compare: np.ndarray, differs: dict[str, np.ndarray]
) -> np.ndarray:
    """The caption of the first bidirectional field that differs where both sides changed, else None."""
    caption = np.full(len(at), None, dtype=object)
    bidirectional = [rule for rule in spec.fields if rule.bidirectional]
    if not spec.bidirectional_mapping or spec.force_modify or not bidirectional or not compare.any():
        return caption  # "Synchronize Now" in a chosen direction overrides a conflict, as in BC
    records = np.zeros(rows.size, bool)
    records[at[compare]] = True
    both = np.zeros(len(at), bool)
    both[compare] = modified_since_columns(
        rows.destination_column(DESTINATION_MODIFIED, records),
        rows.coupling_column("destination_synced_on", records),
        int(compare.sum()),
    )
    found = np.zeros(len(at), bool)
    for rule in bidirectional:
        first = both & differs[rule.destination_field] & ~found
        caption[first] = rule.caption
        found |= first
    return caption


def _resolve_conflicts(
    plan: _Plan, spec: PassSpec, at: np.ndarray, caption: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the mapping's update-conflict resolution; returns the conflicts and those this pass won."""
    conflict = np.array([name is not None for name in caption], dtype=bool)
    winner = _WINNER.get(spec.update_conflict)
    if winner is None:  # BC's default: the record fails, naming the first conflicting field
        for name in dict.fromkeys(caption[conflict]):
            plan.fail(at[conflict & (caption == name)], _conflict_message(spec, name))
        return conflict, np.zeros(len(at), bool)
    if winner is not spec.sync_pass:
        plan.action[at[conflict]] = RecordAction.SKIP.value  # the other pass writes this record
        return conflict, np.zeros(len(at), bool)
    plan.action[at[conflict]] = RecordAction.MODIFY.value
    plan.conflict_resolved[at[conflict]] = True
    return conflict, conflict


def _conflict_message(spec: PassSpec, field_caption: str) -> str:
    destination = spec.destination_caption or "destination"
    return (
        f"Cannot update a record in the {destination} table. "
        f"The mapping between {field_caption} field on the {spec.source_caption or 'source'} table "
        f"and the {field_caption} field on the {destination} table is "
        "bi-directional, and one or both values have changed since the last synchronization."
    )


def _label(spec: PassSpec) -> str:
    return "Dynamics 365 Sales" if spec.sync_pass is SyncPass.TO_CRM else "Business Central"


def _positions(frame: pd.DataFrame, key: str, wanted: pd.Series) -> np.ndarray:
    """Row of each wanted key in `frame` (-1 if absent); the keys must be unique, as in a dict."""
    if not len(frame):
        return np.full(len(wanted), -1)
    keys = KeyIndex(frame[key])
    if not keys.is_unique:
        raise ValueError(f"{key} must be unique: {keys.duplicate()!r} appears twice")
    return keys.positions(wanted)


def _truthy(column: pd.Series) -> np.ndarray:
    if column.dtype == bool:
        return column.to_numpy()
    return np.array([bool(value) for value in python_values(column)], dtype=bool)


def count_actions(actions: pd.Series) -> JobCounters:
    """BC's job counters for a pass from its final per-record actions."""
    counters = JobCounters()
    for action, count in actions.value_counts().items():
        counters.add(str(action), int(count))
    return counters
