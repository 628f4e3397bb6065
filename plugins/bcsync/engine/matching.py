"""Match-based coupling (BC's "CDS Int. Table Couple"): pair uncoupled records by field values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID
from bcsync.engine.values import is_blank


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
        key = tuple(_key(row.get(self._group[i].source_field), self._group[i].case_sensitive) for i in used)
        return self._index(used).get(key, [])

    def _index(self, used: tuple[int, ...]) -> dict[tuple, list[str]]:
        if used not in self._indexes:
            index: dict[tuple, list[str]] = {}
            fields = [self._group[i] for i in used]
            for values in self._candidates.to_dict("records"):
                if any(is_blank(values.get(f.destination_field)) for f in fields):
                    continue
                key = tuple(_key(values.get(f.destination_field), f.case_sensitive) for f in fields)
                index.setdefault(key, []).append(values[DESTINATION_ID])
            self._indexes[used] = index
        return self._indexes[used]


def _key(value: object, case_sensitive: bool) -> object:
    if isinstance(value, str):
        text = value.strip()
        return text if case_sensitive else text.casefold()
    return value


def _describe(group: MatchGroup) -> str:
    return ", ".join(f"{f.source_field}={f.destination_field}" for f in group)
