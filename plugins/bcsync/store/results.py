"""Writing a pass's per-record outcome onto the couplings: BC's last-synch fields and the Skipped rule.

A success records the job, the new modified-on values and resets the failure streak (and resolves
the record's open errors); a failure counts identical failures in a row and, at the threshold (BC: two),
marks the coupling Skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from bcsync.store.bulk import bulk_insert
from bcsync.store.couplings import select_couplings
from bcsync.store.database import lock_mapping
from bcsync.store.errors import resolve_errors
from bcsync.store.frames import (
    StoreInputError,
    frame_of,
    guids,
    require_columns,
    utc_column,
)
from bcsync.store.schema import Direction, SyncResult, couplings, direction_prefix

BC_SKIPS_AFTER = 2  # BC marks a coupling Skipped when the same error happens twice in a row
_INSERT_COLUMNS = ["mapping", "bc_id", "crm_id", "coupled_by", "created_on"]
_SYNC_COLUMNS = ["bc_synced_on", "crm_synced_on", "skipped", "updated_on"]
_DIRECTION_COLUMNS = ["result", "job_id", "error_hash", "failures"]


@dataclass(frozen=True)
class RecordedResults:
    """What `record_sync_results` wrote."""

    succeeded: int
    failed: int
    not_coupled: int  # results for records without a coupling (e.g. a failed insert): nothing to update
    newly_skipped: pd.DataFrame  # bc_id, crm_id: count these as Skipped, not Failed, in this job


def source_column(direction: Direction) -> str:
    return "bc_id" if direction is Direction.TO_CRM else "crm_id"


def error_hash(message: object) -> str | None:
    """Identity of an error message; blank messages have none, so they never count as "the same error"."""
    if message is None or (isinstance(message, float) and pd.isna(message)):
        return None
    text = str(message).strip()
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def error_hashes(messages: pd.Series) -> pd.Series:
    """`error_hash` of each message, each distinct one hashed once (a load's failures share a few)."""
    present = messages[messages.notna()]
    known = {message: error_hash(message) for message in present.unique()}
    return pd.Series([known[message] for message in present], index=present.index, dtype=object).reindex(
        messages.index
    )


def record_sync_results(
    conn: Connection,
    mapping: str,
    direction: Direction,
    results: pd.DataFrame,
    *,
    job_id: str | None,
    skip_after: int,
    now: datetime,
) -> RecordedResults:
    """Apply one pass's outcomes to the couplings in bulk.

    `results` has the pass's source id (`bc_id` for To, `crm_id` for From), `result` (Success or
    Failure), and optionally `bc_modified_on` / `crm_modified_on` (a success's new values; stored
    only if later than the stored ones, as BC does) and `message` (a failure's error text).
    """
    if skip_after < 1:
        raise StoreInputError(f"skip_after must be at least 1, got {skip_after}")
    frame = _results(results, direction)
    lock_mapping(conn, mapping)
    key = source_column(direction)
    prefix = direction_prefix(direction)
    columns = [*_INSERT_COLUMNS, *_SYNC_COLUMNS, *(f"{prefix}_{name}" for name in _DIRECTION_COLUMNS)]
    current = select_couplings(conn, mapping, **{f"{key}s": frame[key].tolist()}, columns=columns)
    merged = current.merge(frame, on=key, how="inner", suffixes=("", "_new"))
    success = merged["result"] == SyncResult.SUCCESS
    updated = merged[columns].copy()

    for side in ("bc", "crm"):
        stored, new = merged[f"{side}_synced_on"], merged[f"{side}_modified_on"]
        later = success & new.notna() & (stored.isna() | (new > stored))
        updated[f"{side}_synced_on"] = stored.where(~later, new)

    hashes = error_hashes(merged["message"])
    same_error = (
        (merged[f"{prefix}_result"] == SyncResult.FAILURE)
        & hashes.notna()
        & (merged[f"{prefix}_error_hash"] == hashes)
    )
    failures = (merged[f"{prefix}_failures"].where(same_error, 0) + 1).where(~success, 0)
    now_skipped = ~success & (failures >= skip_after)
    updated[f"{prefix}_result"] = merged["result"]
    updated[f"{prefix}_job_id"] = job_id
    updated[f"{prefix}_error_hash"] = hashes.where(~success, None)
    updated[f"{prefix}_failures"] = failures.astype(int)
    # A success clears Skipped (the record evidently syncs again); a failure never clears it, so a
    # flag set by one direction survives a failure in the other (BC test 139186 T108).
    updated["skipped"] = (merged["skipped"].astype(bool) | now_skipped) & ~success
    updated["updated_on"] = now
    _write(conn, updated, prefix)

    succeeded_ids = merged.loc[success, key].tolist()
    resolve_errors(conn, mapping, direction, succeeded_ids, now=now)
    newly = now_skipped & ~merged["skipped"].astype(bool)
    return RecordedResults(
        succeeded=len(succeeded_ids),
        failed=int((~success).sum()),
        not_coupled=len(frame) - len(merged),
        newly_skipped=merged.loc[newly, ["bc_id", "crm_id"]].reset_index(drop=True),
    )


def _results(results: pd.DataFrame, direction: Direction) -> pd.DataFrame:
    frame = frame_of(results)
    key = source_column(direction)
    require_columns(frame, [key, "result"], f"record_sync_results ({direction})")
    out = pd.DataFrame({key: guids(frame[key].to_numpy(), key)})
    if out[key].duplicated().any():
        raise StoreInputError(
            f"record_sync_results: {key} {out[key][out[key].duplicated()].iloc[0]} appears twice"
        )
    valid = {result.value for result in SyncResult}
    bad = ~frame["result"].astype(str).isin(valid)
    if bad.any():
        raise StoreInputError(f"result: {frame['result'][bad].iloc[0]!r} is not one of {sorted(valid)}")
    out["result"] = frame["result"].astype(str).to_numpy()
    for column in ("bc_modified_on", "crm_modified_on"):
        # `.array`: timestamps that are already a UTC-aware column stay one (to_numpy gives objects).
        values = frame[column].array if column in frame.columns else [None] * len(frame)
        out[column] = utc_column(values, column)
    out["message"] = frame["message"].to_numpy() if "message" in frame.columns else None
    return out


def _write(conn: Connection, updated: pd.DataFrame, prefix: str) -> None:
    """Bulk upsert of the columns a pass changes (plus those an INSERT needs)."""
    changing = [*_SYNC_COLUMNS, *(f"{prefix}_{name}" for name in _DIRECTION_COLUMNS)]

    def update_changed_columns(statement: Any) -> Any:
        return statement.on_conflict_do_update(
            index_elements=[couplings.c.mapping, couplings.c.bc_id],
            set_={column: statement.excluded[column] for column in changing},
        )

    # The rows exist (read under the mapping's lock), so the INSERT half only has to be well-formed.
    bulk_insert(conn, couplings, updated[[*_INSERT_COLUMNS, *changing]], update_changed_columns)
