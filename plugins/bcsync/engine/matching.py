"""Match-based coupling (BC's "CDS Int. Table Couple"): pair uncoupled records by field values.

Each priority group is matched for all records at once: match keys are factorised jointly on both
sides and joined; BC's record-by-record outcome (a candidate is taken by the first record that
matches it alone) is kept with a "first occurrence" rule over the records in order. Records and
candidates are followed by position and integer codes: no Python object per record.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID
from bcsync.engine.values import TEXT, ZERO_GUID, Cells, arrow_parts, is_arrow_text, is_in, python_values


@dataclass(frozen=True)
class MatchField:
    source_field: str
    destination_field: str
    case_sensitive: bool = False


MatchGroup = Sequence[MatchField]  # one "Match Priority": all its fields must agree

# Destination ids coupled already: a Python collection, or a column (Arrow text stays Arrow text).
Coupled = Collection[Any] | pd.Series


def match_records(
    source: pd.DataFrame,
    candidates: pd.DataFrame,
    priority_groups: Sequence[MatchGroup],
    already_coupled: Coupled = frozenset(),
) -> pd.DataFrame:
    """Couple each source record to exactly one uncoupled candidate, trying groups in priority order.

    Returns one row per source record: `source_id`, `destination_id` (None when unmatched) and
    `reason`. As in BC: text compares case-insensitively unless asked otherwise, blank source values
    are dropped from the criteria, several matches or an already-coupled single match fall through
    to the next group, and a candidate is coupled at most once (the first source record wins).
    """
    outcome = _outcome(source, candidates, priority_groups, already_coupled)
    ids = source[SOURCE_ID]
    matched = np.full(len(ids), None, dtype=object)
    found = outcome.candidate_row >= 0
    if found.any():
        matched[found] = python_values(candidates[DESTINATION_ID].iloc[outcome.candidate_row[found]])
    return pd.DataFrame(
        {
            SOURCE_ID: np.fromiter(ids, dtype=object, count=len(ids)),
            DESTINATION_ID: matched,
            "reason": outcome.reason,
        },
        columns=[SOURCE_ID, DESTINATION_ID, "reason"],
        dtype=object,
    )


def matched_rows(
    source: pd.DataFrame,
    candidates: pd.DataFrame,
    priority_groups: Sequence[MatchGroup],
    already_coupled: Coupled = frozenset(),
    *,
    ids_unique: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs `match_records` couples, as positions: the source rows (in order) and the candidate
    row each is coupled to. For large tables: neither side's ids become Python objects, and with
    `ids_unique` (each id once on each side, as `as_source` gives them) they are not even hashed."""
    rows = _outcome(
        source, candidates, priority_groups, already_coupled, ids_unique, reasons=False
    ).candidate_row
    source_rows = np.flatnonzero(rows >= 0)
    return source_rows, rows[source_rows]


@dataclass(frozen=True)
class _Outcome:
    candidate_row: np.ndarray  # per source record: the candidate coupled, -1 for none
    reason: np.ndarray  # per source record (empty when not asked for)


def _outcome(
    source: pd.DataFrame,
    candidates: pd.DataFrame,
    priority_groups: Sequence[MatchGroup],
    already_coupled: Coupled,
    ids_unique: bool = False,
    *,
    reasons: bool = True,
) -> _Outcome:
    ids = source[SOURCE_ID]
    size = len(ids)
    id_codes, unique_ids = _codes(ids, ids_unique)
    # A source id listed twice is matched with its last record's values, as a dict of records does.
    if ids_unique:
        values_row = id_codes
    else:
        values_at = np.zeros(len(unique_ids), dtype=np.int64)
        np.maximum.at(values_at, id_codes, np.arange(size))
        values_row = values_at[id_codes]

    # The outcome per source id (a record decided again overwrites its earlier outcome).
    matched_to = np.full(len(unique_ids), -1, dtype=np.int64)
    # Reasons (an object per record) only when asked for.
    reason = np.full(len(unique_ids) if reasons else 0, "no match criteria", dtype=object)
    has_reason = np.zeros(len(unique_ids) if reasons else 0, bool)
    # Candidates by id code: a candidate id is taken once, whichever row of it was matched.
    candidate_ids = candidates[DESTINATION_ID] if len(candidates) else pd.Series([], dtype=object)
    candidate_codes, candidate_uniques = _codes(candidate_ids, ids_unique)
    taken = _listed(candidate_uniques, already_coupled)
    unmatched = np.arange(size)
    for group in priority_groups:
        if not len(unmatched):
            break
        outcome = _match_group(
            source, candidates, candidate_codes, tuple(group), values_row[unmatched], taken, reasons
        )
        codes = id_codes[unmatched]
        blank = outcome.count < 0
        decided = codes[~blank]
        matched_to[decided] = outcome.matched[~blank]
        if reasons:
            first_time = codes[blank & ~has_reason[codes]]  # the old dict's setdefault
            reason[first_time] = "all match fields are blank"
            reason[decided] = outcome.reason[~blank]
            has_reason[codes] = True
        unmatched = unmatched[~outcome.won]
    return _Outcome(matched_to[id_codes], reason[id_codes] if reasons else reason)


def _codes(ids: pd.Series, unique: bool) -> tuple[np.ndarray, Any]:
    """A code per id and the distinct ids. Ids known to be unique are their own codes: no hash table
    of a million ids."""
    if unique:
        return np.arange(len(ids)), ids.array
    return pd.factorize(_hashable(ids), use_na_sentinel=False)


def _listed(uniques: Any, listed: Coupled) -> np.ndarray:
    """Which of the (unique) candidate ids are in `listed`, as Python's == and hash say."""
    if not len(uniques) or not len(listed):
        return np.zeros(len(uniques), bool)
    return is_in(pd.Series(uniques), listed).to_numpy(dtype=bool, copy=True)  # marked as coupling goes on


@dataclass(frozen=True)
class _GroupOutcome:
    count: np.ndarray  # matches per record; -1: every match field of the record is blank
    won: np.ndarray  # the record was coupled
    matched: np.ndarray  # the candidate row coupled, or -1
    reason: np.ndarray  # empty when not asked for


def _match_group(
    source: pd.DataFrame,
    candidates: pd.DataFrame,
    candidate_codes: np.ndarray,
    group: tuple[MatchField, ...],
    rows: np.ndarray,
    taken: np.ndarray,
    reasons: bool = True,
) -> _GroupOutcome:
    """Match the records at `rows` (in order) on one priority group; couples into `taken` (per
    candidate id code)."""
    size = len(rows)
    described = _describe(group)
    # Per field, one code per distinct key across both sides (equal as Python's == and hash say), -1
    # where the row has no key. Each field's keys are dropped once coded.
    source_codes, candidate_codes_of = [], []
    for field in group:
        source_key, source_used = _keys(source, field.source_field, field.case_sensitive, rows)
        candidate_key, candidate_used = _keys(candidates, field.destination_field, field.case_sensitive, None)
        joint = _factorized(_joined(source_key, candidate_key))
        del source_key, candidate_key
        source_codes.append(np.where(source_used, joint[:size], -1))
        candidate_codes_of.append(np.where(candidate_used, joint[size:], -1))
    used = np.column_stack([codes >= 0 for codes in source_codes]) if group else np.zeros((size, 0), bool)
    count = np.full(size, -1)
    first = np.full(size, -1)
    # Records are looked up with the fields they have a value in; candidates must have all of those.
    signatures = used.astype(np.int64) @ (1 << np.arange(used.shape[1], dtype=np.int64))
    for signature in np.unique(signatures):
        fields = [i for i in range(len(group)) if signature >> i & 1]
        if not fields:
            continue
        mine = np.flatnonzero(signatures == signature)
        eligible = np.flatnonzero(np.logical_and.reduce([candidate_codes_of[i] >= 0 for i in fields]))
        wanted, offered = _combined(
            [source_codes[i][mine] for i in fields], [candidate_codes_of[i][eligible] for i in fields]
        )
        # Per key: how many candidates offer it, and the first of them (positions are in order).
        keys_offered, first_at, offers = np.unique(offered, return_index=True, return_counts=True)
        at = np.searchsorted(keys_offered, wanted)
        hit = at < len(keys_offered)
        hit[hit] = keys_offered[at[hit]] == wanted[hit]
        count[mine] = 0
        count[mine[hit]] = offers[at[hit]]
        first[mine[hit]] = eligible[first_at[at[hit]]]

    single = np.flatnonzero(count == 1)
    single_codes = candidate_codes[first[single]]
    free = ~taken[single_codes]
    # BC goes record by record: of several records matching the same free candidate, the first wins.
    wins = free & ~pd.Series(first[single]).where(free).duplicated(keep="first").to_numpy()
    won = np.zeros(size, bool)
    won[single[wins]] = True
    matched = np.full(size, -1, dtype=np.int64)
    matched[won] = first[single[wins]]
    taken[single_codes[wins]] = True
    if not reasons:
        return _GroupOutcome(count, won, matched, np.empty(0, dtype=object))

    reason = np.full(size, None, dtype=object)
    reason[count == 0] = f"no match on {described}"
    reason[single] = f"the only match is already coupled on {described}"
    reason[single[wins]] = f"matched on {described}"
    for several in np.unique(count[count > 1]):
        reason[count == several] = f"{several} matches on {described}"
    return _GroupOutcome(count, won, matched, reason)


def _combined(wanted: list[np.ndarray], offered: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Several fields' codes (each 0 or more) as one code per row, equal exactly when every field's
    code is equal: mixed radix, made dense again only when another field could overflow."""
    size = len(wanted[0])
    joint = np.concatenate([wanted[0], offered[0]]).astype(np.int64)
    for more_wanted, more_offered in zip(wanted[1:], offered[1:], strict=True):
        more = np.concatenate([more_wanted, more_offered])
        radix = int(more.max(initial=0)) + 1
        if int(joint.max(initial=0)) >= np.iinfo(np.int64).max // radix - 1:
            joint = pd.factorize(joint)[0]
        joint *= radix
        joint += more
    return joint[:size], joint[size:]


def _keys(
    frame: pd.DataFrame, name: str, case_sensitive: bool, rows: np.ndarray | None
) -> tuple[np.ndarray | pd.Series, np.ndarray]:
    """Each row's match key (text trimmed, case-folded unless case-sensitive) and whether it has one;
    `rows` None: every row.

    A text column's keys stay Arrow text (no Python string per row, as `Cells` would make); its
    blanks are what `Cells` calls blank: missing, empty once trimmed, or the zero GUID."""
    if rows is not None and len(rows) == len(frame) and np.array_equal(rows, np.arange(len(frame))):
        rows = None  # every row in order (a first group): the column itself, not a copy
    size = len(frame) if rows is None else len(rows)
    if name not in frame.columns:
        return np.full(size, None, dtype=object), np.zeros(size, bool)
    column = frame[name] if rows is None else frame[name].take(rows)
    if is_arrow_text(column.dtype):
        trimmed = column.str.strip()
        blank = (column.isna() | (trimmed == "") | (column == ZERO_GUID)).to_numpy(dtype=bool, na_value=True)
        return (trimmed if case_sensitive else casefold(trimmed)).reset_index(drop=True), ~blank
    cells = Cells.of(column)
    keys = cells.values.copy()
    texts = cells.kinds == TEXT
    if texts.any():
        trimmed = pd.Series(cells.text[texts], dtype=object)
        keys[texts] = (trimmed if case_sensitive else trimmed.str.casefold()).to_numpy()
    return keys, ~cells.is_blank


def casefold(texts: pd.Series) -> pd.Series:
    """`str.casefold` of an Arrow text column, in Arrow: ASCII texts are lowered (the same for them),
    only the others are folded in Python (pandas folds every value as a Python string). A part
    (Arrow chunk) at a time, so no more than one extra part of texts is held."""
    lowered = []
    for chunk in arrow_parts(texts).chunks:
        low = pc.utf8_lower(chunk)
        other = pc.invert(pc.string_is_ascii(chunk)).fill_null(False)
        if pc.any(other).as_py():
            folded = [value.casefold() for value in chunk.filter(other).to_pylist()]
            low = pc.replace_with_mask(low, other, pa.array(folded, type=low.type))
        lowered.append(low)
    arrow = pa.chunked_array(lowered, type=arrow_parts(texts).type)
    return pd.Series(arrow, index=texts.index, dtype=texts.dtype)


def _joined(source_key: np.ndarray | pd.Series, candidate_key: np.ndarray | pd.Series) -> Any:
    """Both sides' keys in one array to factorise: Arrow text when both are, else Python objects
    (a key's code only counts where the row has a key, so how blanks convert does not matter)."""
    if isinstance(source_key, pd.Series) and isinstance(candidate_key, pd.Series):
        return pd.concat([source_key, candidate_key], ignore_index=True)
    return np.concatenate([_objects(source_key), _objects(candidate_key)])


def _factorized(keys: Any) -> np.ndarray:
    """A code per key, equal exactly where the keys are (as `pd.factorize` gives, in another order).
    Arrow text is coded by its dense rank in sort order: a sort keeps 8-byte positions, where a hash
    table (pandas' factorize, Arrow's dictionary_encode) keeps a copy of every distinct text
    (200 MB for a million and a half names)."""
    if not (isinstance(keys, pd.Series) and is_arrow_text(keys.dtype)):
        return pd.factorize(keys, use_na_sentinel=False)[0]
    ranks = pc.rank(arrow_parts(keys), sort_keys="ascending", tiebreaker="dense")  # blanks share one too
    return ranks.to_numpy().view(np.int64)


def _objects(keys: np.ndarray | pd.Series) -> np.ndarray:
    return keys.to_numpy(dtype=object) if isinstance(keys, pd.Series) else keys


def _hashable(ids: pd.Series) -> Any:
    """The ids to factorise: Arrow text as it is, anything else as the Python objects."""
    return ids.array if is_arrow_text(ids.dtype) else python_values(ids)


def _describe(group: MatchGroup) -> str:
    return ", ".join(f"{f.source_field}={f.destination_field}" for f in group)
