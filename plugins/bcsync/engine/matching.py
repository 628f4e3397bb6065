"""Match-based coupling (BC's "CDS Int. Table Couple"): pair uncoupled records by field values.

Each priority group is matched for all records at once: match keys are factorised jointly on both
sides and joined; BC's record-by-record outcome (a candidate is taken by the first record that
matches it alone) is kept with a "first occurrence" rule over the records in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID
from bcsync.engine.values import TEXT, ZERO_GUID, Cells, is_arrow_text, python_values


@dataclass(frozen=True)
class MatchField:
    source_field: str
    destination_field: str
    case_sensitive: bool = False


MatchGroup = Sequence[MatchField]  # one "Match Priority": all its fields must agree


def match_records(
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
    ids = source[SOURCE_ID]
    size = len(ids)
    id_codes, unique_ids = pd.factorize(_hashable(ids), use_na_sentinel=False)
    # A source id listed twice is matched with its last record's values, as a dict of records does.
    values_at = np.zeros(len(unique_ids), dtype=np.int64)
    np.maximum.at(values_at, id_codes, np.arange(size))
    values_row = values_at[id_codes]

    # The outcome per source id (a record decided again overwrites its earlier outcome).
    matched_to = np.full(len(unique_ids), None, dtype=object)
    reason = np.full(len(unique_ids), "no match criteria", dtype=object)
    has_reason = np.zeros(len(unique_ids), bool)
    taken = set(already_coupled)
    unmatched = np.arange(size)
    # Kept as the column: only the ids of matched candidates become Python objects.
    candidate_ids = candidates[DESTINATION_ID] if len(candidates) else pd.Series([], dtype=object)
    for group in priority_groups:
        if not len(unmatched):
            break
        outcome = _match_group(source, candidates, candidate_ids, tuple(group), values_row[unmatched], taken)
        codes = id_codes[unmatched]
        blank = outcome.count < 0
        first_time = codes[blank & ~has_reason[codes]]  # the old dict's setdefault
        reason[first_time] = "all match fields are blank"
        decided = codes[~blank]
        matched_to[decided] = outcome.matched[~blank]
        reason[decided] = outcome.reason[~blank]
        has_reason[codes] = True
        unmatched = unmatched[~outcome.won]
    return pd.DataFrame(
        {
            SOURCE_ID: np.fromiter(ids, dtype=object, count=size),
            DESTINATION_ID: matched_to[id_codes],
            "reason": reason[id_codes],
        },
        columns=[SOURCE_ID, DESTINATION_ID, "reason"],
        dtype=object,
    )


@dataclass(frozen=True)
class _GroupOutcome:
    count: np.ndarray  # matches per record; -1: every match field of the record is blank
    won: np.ndarray  # the record was coupled
    matched: np.ndarray  # the candidate id coupled, or None
    reason: np.ndarray


def _match_group(
    source: pd.DataFrame,
    candidates: pd.DataFrame,
    candidate_ids: pd.Series,
    group: tuple[MatchField, ...],
    rows: np.ndarray,
    taken: set,
) -> _GroupOutcome:
    """Match the records at `rows` (in order) on one priority group; couples into `taken`."""
    size = len(rows)
    described = _describe(group)
    source_keys = [_keys(source, f.source_field, f.case_sensitive, rows) for f in group]
    everyone = np.arange(len(candidates))
    candidate_keys = [_keys(candidates, f.destination_field, f.case_sensitive, everyone) for f in group]
    # One code per distinct key across both sides, per field (equal as Python's == and hash say).
    codes = []
    for (source_key, source_used), (candidate_key, candidate_used) in zip(
        source_keys, candidate_keys, strict=True
    ):
        joint, _ = pd.factorize(_joined(source_key, candidate_key), use_na_sentinel=False)
        codes.append((np.where(source_used, joint[:size], -1), np.where(candidate_used, joint[size:], -1)))
    used = np.column_stack([used for _, used in source_keys]) if group else np.zeros((size, 0), bool)
    count = np.full(size, -1)
    first = np.full(size, -1)
    # Records are looked up with the fields they have a value in; candidates must have all of those.
    for signature in {tuple(row) for row in used.tolist()}:
        fields = [i for i, on in enumerate(signature) if on]
        if not fields:
            continue
        mine = np.flatnonzero((used == signature).all(axis=1))
        eligible = np.logical_and.reduce([candidate_keys[i][1] for i in fields])
        keys = [f"k{i}" for i in fields]
        offered = pd.DataFrame({key: codes[i][1][eligible] for key, i in zip(keys, fields, strict=True)})
        offered["position"] = np.flatnonzero(eligible)
        stats = offered.groupby(keys, sort=False)["position"].agg(["size", "first"]).reset_index()
        wanted = pd.DataFrame({key: codes[i][0][mine] for key, i in zip(keys, fields, strict=True)})
        found = wanted.merge(stats, on=keys, how="left")
        count[mine] = found["size"].fillna(0).to_numpy(dtype=np.int64)
        first[mine] = found["first"].fillna(-1).to_numpy(dtype=np.int64)

    single = np.flatnonzero(count == 1)
    single_ids = python_values(candidate_ids.iloc[first[single]])
    free = ~pd.Series(single_ids, dtype=object).isin(list(taken)).to_numpy()
    # BC goes record by record: of several records matching the same free candidate, the first wins.
    wins = free & ~pd.Series(first[single]).where(free).duplicated(keep="first").to_numpy()
    won = np.zeros(size, bool)
    won[single[wins]] = True
    matched = np.full(size, None, dtype=object)
    matched[won] = single_ids[wins]
    taken.update(single_ids[wins])

    reason = np.full(size, None, dtype=object)
    reason[count == 0] = f"no match on {described}"
    reason[single] = f"the only match is already coupled on {described}"
    reason[single[wins]] = f"matched on {described}"
    for several in np.unique(count[count > 1]):
        reason[count == several] = f"{several} matches on {described}"
    return _GroupOutcome(count, won, matched, reason)


def _keys(
    frame: pd.DataFrame, name: str, case_sensitive: bool, rows: np.ndarray
) -> tuple[np.ndarray | pd.Series, np.ndarray]:
    """Each row's match key (text trimmed, case-folded unless case-sensitive) and whether it has one.

    A text column's keys stay Arrow text (no Python string per row, as `Cells` would make); its
    blanks are what `Cells` calls blank: missing, empty once trimmed, or the zero GUID."""
    if name not in frame.columns:
        return np.full(len(rows), None, dtype=object), np.zeros(len(rows), bool)
    column = frame[name].take(rows)
    if is_arrow_text(column.dtype):
        trimmed = column.str.strip()
        blank = (column.isna() | (trimmed == "") | (column == ZERO_GUID)).to_numpy(dtype=bool, na_value=True)
        return (trimmed if case_sensitive else trimmed.str.casefold()).reset_index(drop=True), ~blank
    cells = Cells.of(column)
    keys = cells.values.copy()
    texts = cells.kinds == TEXT
    if texts.any():
        trimmed = pd.Series(cells.text[texts], dtype=object)
        keys[texts] = (trimmed if case_sensitive else trimmed.str.casefold()).to_numpy()
    return keys, ~cells.is_blank


def _joined(source_key: np.ndarray | pd.Series, candidate_key: np.ndarray | pd.Series) -> Any:
    """Both sides' keys in one array to factorise: Arrow text when both are, else Python objects
    (a key's code only counts where the row has a key, so how blanks convert does not matter)."""
    if isinstance(source_key, pd.Series) and isinstance(candidate_key, pd.Series):
        return pd.concat([source_key, candidate_key], ignore_index=True)
    return np.concatenate([_objects(source_key), _objects(candidate_key)])


def _objects(keys: np.ndarray | pd.Series) -> np.ndarray:
    return keys.to_numpy(dtype=object) if isinstance(keys, pd.Series) else keys


def _hashable(ids: pd.Series) -> Any:
    """The ids to factorise: Arrow text as it is, anything else as the Python objects."""
    return ids.array if is_arrow_text(ids.dtype) else python_values(ids)


def _describe(group: MatchGroup) -> str:
    return ", ".join(f"{f.source_field}={f.destination_field}" for f in group)
