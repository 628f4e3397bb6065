"""The planner as it was before it worked on columns: record by record over `to_dict` rows.

Kept as the reference the columnar `plan_pass` is checked against (test_planner_columns.py) and
timed against (benchmarks/engine_planner.py). Decisions come from the per-value helpers `transfer`,
`same_value` and `modified_since`, which the columnar code must agree with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from bcsync.engine.changes import modified_since
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
from bcsync.engine.values import same_value


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
