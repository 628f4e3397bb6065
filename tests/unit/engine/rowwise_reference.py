"""The planner and matching as they were before they worked on columns: record by record over
`to_dict` rows.

Kept as the reference the columnar `plan_pass` and `match_records` are checked against
(test_planner_columns.py, test_matching_columns.py) and timed against (benchmarks/engine_planner.py).
Decisions come from the per-value helpers `transfer`, `same_value`, `modified_since` and `is_blank`,
which the columnar code must agree with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bcsync.engine.changes import modified_since
from bcsync.engine.matching import MatchGroup, _describe
from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    DeletionConflictResolution,
    LookupTable,
    PassSpec,
    RecordAction,
    SyncPass,
    UpdateConflictResolution,
)
from bcsync.engine.planner import FAILURE, PLAN_COLUMNS
from bcsync.engine.transform import transfer
from bcsync.engine.values import is_blank, same_value


def plan_pass_rowwise(
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
    lookups = lookups or {}
    coupling_by_source = couplings.set_index(SOURCE_ID).to_dict("index") if len(couplings) else {}
    destination_by_id = destination.set_index(DESTINATION_ID).to_dict("index") if len(destination) else {}
    destination_label = "Dynamics 365 Sales" if spec.sync_pass is SyncPass.TO_CRM else "Business Central"
    rows = [
        _decide(
            spec,
            record,
            coupling_by_source.get(record[SOURCE_ID]),
            destination_by_id,
            lookups,
            destination_label,
        )
        for record in source.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def _decide(
    spec: PassSpec,
    record: dict[str, Any],
    coupling: dict[str, Any] | None,
    destinations: dict[str, dict[str, Any]],
    lookups: Mapping[str, LookupTable],
    destination_label: str,
) -> dict[str, Any]:
    row = _row(record)
    if coupling is None:
        if spec.only_coupled:
            return _with(row, RecordAction.IGNORE)
        return _insert(spec, record, row, lookups, destination_label)

    row[DESTINATION_ID] = coupling[DESTINATION_ID]
    if bool(coupling.get("skipped")):
        return _with(row, RecordAction.SKIP)

    current = destinations.get(coupling[DESTINATION_ID])
    if current is None:
        return _deleted_counterpart(spec, record, row, lookups, destination_label)
    row[DESTINATION_MODIFIED] = current.get(DESTINATION_MODIFIED)

    failed_last_time = coupling.get("last_result") == FAILURE
    changed = (
        spec.force_modify
        or failed_last_time
        or modified_since(record.get(SOURCE_MODIFIED), coupling.get("source_synced_on"))
    )
    if not changed:
        return _with(row, RecordAction.UNCHANGED)

    transferred = transfer(spec.fields, record, lookups, destination_label)
    if transferred.error:
        return _with(row, RecordAction.FAIL, error=transferred.error)
    differing = {
        name: value for name, value in transferred.values.items() if not same_value(value, current.get(name))
    }

    # "Synchronize Now" in a chosen direction overrides a conflict, as BC's manual sync does.
    both_modified = (
        spec.bidirectional_mapping
        and not spec.force_modify
        and modified_since(current.get(DESTINATION_MODIFIED), coupling.get("destination_synced_on"))
    )
    if both_modified:
        conflicting = [
            rule for rule in spec.fields if rule.bidirectional and rule.destination_field in differing
        ]
        if conflicting:
            return _resolve_update_conflict(spec, row, differing, conflicting[0].caption)

    if spec.force_modify:
        return _with(row, RecordAction.MODIFY, payload=transferred.values)
    if not differing:
        return _with(row, RecordAction.UNCHANGED)
    return _with(row, RecordAction.MODIFY, payload=differing)


def _insert(
    spec: PassSpec,
    record: dict[str, Any],
    row: dict[str, Any],
    lookups: Mapping[str, LookupTable],
    destination_label: str,
    *,
    replaces_coupling: bool = False,
) -> dict[str, Any]:
    transferred = transfer(spec.fields, record, lookups, destination_label)
    if transferred.error:
        return _with(row, RecordAction.FAIL, error=transferred.error)
    row["replaces_coupling"] = replaces_coupling
    return _with(row, RecordAction.INSERT, payload=transferred.values)


def _deleted_counterpart(
    spec: PassSpec,
    record: dict[str, Any],
    row: dict[str, Any],
    lookups: Mapping[str, LookupTable],
    destination_label: str,
) -> dict[str, Any]:
    if spec.deletion_conflict is DeletionConflictResolution.RESTORE_RECORDS:
        row[DESTINATION_ID] = None
        return _insert(spec, record, row, lookups, destination_label, replaces_coupling=True)
    if spec.deletion_conflict is DeletionConflictResolution.REMOVE_COUPLING:
        return _with(row, RecordAction.REMOVE_COUPLING)
    caption = spec.source_caption or "source"
    return _with(
        row,
        RecordAction.FAIL,
        error=f"The {caption} record cannot be updated because it is coupled to a deleted record.",
    )


def _resolve_update_conflict(
    spec: PassSpec, row: dict[str, Any], differing: dict[str, Any], field_caption: str
) -> dict[str, Any]:
    winner = {
        UpdateConflictResolution.SEND_UPDATE_TO_INTEGRATION: SyncPass.TO_CRM,
        UpdateConflictResolution.GET_UPDATE_FROM_INTEGRATION: SyncPass.FROM_CRM,
    }.get(spec.update_conflict)
    if winner is None:
        return _with(
            row,
            RecordAction.FAIL,
            error=(
                f"Cannot update a record in the {spec.destination_caption or 'destination'} table. "
                f"The mapping between {field_caption} field on the {spec.source_caption or 'source'} table "
                f"and the {field_caption} field on the {spec.destination_caption or 'destination'} table is "
                "bi-directional, and one or both values have changed since the last synchronization."
            ),
        )
    if winner is spec.sync_pass:
        row["conflict_resolved"] = True
        return _with(row, RecordAction.MODIFY, payload=differing)
    return _with(row, RecordAction.SKIP)


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        SOURCE_ID: record[SOURCE_ID],
        DESTINATION_ID: None,
        "action": None,
        "payload": None,
        "error": None,
        SOURCE_MODIFIED: record.get(SOURCE_MODIFIED),
        DESTINATION_MODIFIED: None,
        "conflict_resolved": False,
        "replaces_coupling": False,
    }


def _with(
    row: dict[str, Any],
    action: RecordAction,
    *,
    payload: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    row["action"] = action.value
    row["payload"] = payload
    row["error"] = error
    return row


def match_records_rowwise(
    source: pd.DataFrame,
    candidates: pd.DataFrame,
    priority_groups: Sequence[MatchGroup],
    already_coupled: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Couple each source record to exactly one uncoupled candidate, trying groups in priority order.

    Returns one row per source record: `source_id`, `destination_id` (None when unmatched) and
    `reason`. As in BC: text compares case-insensitively unless asked otherwise, blank source values
    are dropped from the criteria, several matches or an already-coupled single match fall through
    to the next group, and a candidate is coupled at most once (the first source record wins).
    """
    taken = set(already_coupled)
    result: dict[str, tuple[str | None, str]] = {}
    unmatched = list(source[SOURCE_ID])
    records = {record[SOURCE_ID]: record for record in source.to_dict("records")}
    for group in priority_groups:
        if not unmatched:
            break
        still_unmatched: list[str] = []
        index = _CandidateIndex(candidates, group)
        for source_id in unmatched:
            matches = index.lookup(records[source_id])
            if matches is None:
                still_unmatched.append(source_id)
                result.setdefault(source_id, (None, "all match fields are blank"))
                continue
            if len(matches) == 1 and matches[0] not in taken:
                taken.add(matches[0])
                result[source_id] = (matches[0], f"matched on {_describe(group)}")
                continue
            reason = (
                "no match"
                if not matches
                else "the only match is already coupled"
                if len(matches) == 1
                else f"{len(matches)} matches"
            )
            result[source_id] = (None, f"{reason} on {_describe(group)}")
            still_unmatched.append(source_id)
        unmatched = still_unmatched
    rows = [(sid, *result.get(sid, (None, "no match criteria"))) for sid in source[SOURCE_ID]]
    return pd.DataFrame(rows, columns=[SOURCE_ID, DESTINATION_ID, "reason"], dtype=object)


class _CandidateIndex:
    """Candidates grouped by the normalised values of every subset of a group's fields in use."""

    def __init__(self, candidates: pd.DataFrame, group: MatchGroup):
        self._candidates = candidates
        self._group = tuple(group)
        self._indexes: dict[tuple[int, ...], dict[tuple, list[str]]] = {}

    def lookup(self, row: dict) -> list[str] | None:
        used = tuple(i for i, f in enumerate(self._group) if not is_blank(row.get(f.source_field)))
        if not used:
            return None
        group = self._group
        key = tuple(_match_key(row.get(group[i].source_field), group[i].case_sensitive) for i in used)
        return self._index(used).get(key, [])

    def _index(self, used: tuple[int, ...]) -> dict[tuple, list[str]]:
        if used not in self._indexes:
            index: dict[tuple, list[str]] = {}
            fields = [self._group[i] for i in used]
            for values in self._candidates.to_dict("records"):
                if any(is_blank(values.get(f.destination_field)) for f in fields):
                    continue
                key = tuple(_match_key(values.get(f.destination_field), f.case_sensitive) for f in fields)
                index.setdefault(key, []).append(values[DESTINATION_ID])
            self._indexes[used] = index
        return self._indexes[used]


def _match_key(value: object, case_sensitive: bool) -> object:
    if isinstance(value, str):
        text = value.strip()
        return text if case_sensitive else text.casefold()
    return value
