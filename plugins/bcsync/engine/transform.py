"""Field transfer: constants, copies, option values and lookups through couplings.

`transfer` maps one record; `transfer_columns` maps a whole frame of records to the same values and
errors, one field at a time over columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from bcsync.engine.model import FieldRule, LookupTable
from bcsync.engine.values import TEXT, Cells, is_blank, normalize, object_array, truncate, utf16_length


class LookupNotCoupled(Exception):
    """A related record is not coupled and its field mapping may not be cleared."""


# A value the field leaves out of the write: an option value with no row in the option mapping, or
# a null lookup result of a "Not Null" field.
UNMAPPED = object()


@dataclass
class TransferResult:
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def transfer(
    rules: tuple[FieldRule, ...],
    source: Mapping[str, Any],
    lookups: Mapping[str, LookupTable],
    destination_label: str = "Dynamics 365 Sales",
) -> TransferResult:
    """The destination values the source record maps to, or the first error (BC stops at one)."""
    result = TransferResult()
    for rule in rules:
        try:
            value = _field_value(rule, source, lookups, destination_label)
        except LookupNotCoupled as error:
            result.error = str(error)
            return result
        if value is not UNMAPPED:
            result.values[rule.destination_field] = value
    return result


def _field_value(
    rule: FieldRule, source: Mapping[str, Any], lookups: Mapping[str, LookupTable], destination_label: str
) -> Any:
    if rule.is_constant:
        return rule.constant
    value = source.get(rule.source_field) if rule.source_field else None
    if rule.option_map is not None:
        return _option_value(rule, value)
    if rule.lookup:
        translated = _lookup_value(rule, value, lookups[rule.lookup], destination_label)
        # BC's "Not Null": a null result is not transferred, the destination keeps its value (the owner).
        return UNMAPPED if translated is None and rule.not_null else translated
    if is_blank(value):
        return None
    return truncate(normalize_text(value), rule.max_length)


def normalize_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _option_value(rule: FieldRule, value: Any) -> Any:
    assert rule.option_map is not None
    if is_blank(value):
        return rule.option_map.get(None)
    key = normalize(value)
    for candidate, mapped in rule.option_map.items():
        if normalize(candidate) == key or (
            isinstance(candidate, str) and isinstance(key, str) and candidate.upper() == key.upper()
        ):
            return mapped
    # BC's option-mapping jobs would first add the value to the Dataverse option set; bcsync does not
    # manage option sets, so an unmapped value leaves the destination field as it is.
    return None if rule.clear_on_failed_sync else UNMAPPED


def _lookup_value(rule: FieldRule, value: Any, table: LookupTable, destination_label: str) -> Any:
    if is_blank(value):
        return table.blank_means
    if table.maps_to_blank is not None and normalize(value) == normalize(table.maps_to_blank):
        return None
    translated = table.values.get(_lookup_key(value))
    if translated is None:
        if rule.clear_on_failed_sync:
            return None
        related = table.caption or table.mapping
        raise LookupNotCoupled(f"{related} {value} must be coupled to a record in {destination_label}.")
    return translated


def _lookup_key(value: Any) -> Any:
    # Codes are matched as BC does (upper-cased, trimmed); GUIDs lowercase.
    if isinstance(value, str):
        text = value.strip()
        return text.lower() if len(text) == 36 and text.count("-") == 4 else text.upper()
    return value


def lookup_table(
    mapping: str,
    pairs: Mapping[Any, Any],
    *,
    blank_means: Any = None,
    maps_to_blank: Any = None,
    caption: str = "",
) -> LookupTable:
    """Build a LookupTable with keys normalised the way `transfer` looks them up."""
    return LookupTable(
        mapping=mapping,
        values={_lookup_key(key): value for key, value in pairs.items() if not is_blank(key)},
        blank_means=blank_means,
        maps_to_blank=maps_to_blank,
        caption=caption,
    )


# ---- columns ----------------------------------------------------------------------------------------


@dataclass
class TransferredColumns:
    """`transfer` of every record of a frame, as columns.

    `fields` are the destination fields in the order `transfer` fills its dict; `values[f]` holds
    each record's value and `written[f]` whether the record's transferred values contain the field at
    all (an option value without a mapping row leaves it out). `errors` holds each record's first
    error (None if it has none), `failed` whether it has one.
    """

    fields: list[str]
    values: dict[str, np.ndarray]
    written: dict[str, np.ndarray]
    errors: np.ndarray
    failed: np.ndarray

    def records(self, positions: np.ndarray, include: Mapping[str, np.ndarray] | None = None) -> list[dict]:
        """The dicts `transfer` returns for these records, limited to `include` (field → mask) if given."""
        if not self.fields:
            return [{} for _ in positions]
        masks = include if include is not None else self.written
        picked = np.column_stack([masks[name][positions] for name in self.fields])
        out = np.empty(len(positions), dtype=object)  # every slot is filled below
        # Records that write the same set of fields share one zip of their values (usually one set).
        which, firsts = _same_rows(picked)
        for number, first in enumerate(firsts):
            names = [name for name, on in zip(self.fields, picked[first], strict=True) if on]
            rows = np.flatnonzero(which == number)
            if not names:
                out[rows] = object_array(({} for _ in rows), len(rows))
                continue
            columns = [self.values[name][positions[rows]].tolist() for name in names]
            rows_values = zip(*columns, strict=True)
            out[rows] = object_array(map(dict, map(zip, repeat(names), rows_values)), len(rows))
        return out.tolist()


def transfer_columns(
    rules: tuple[FieldRule, ...],
    source: pd.DataFrame,
    lookups: Mapping[str, LookupTable],
    destination_label: str = "Dynamics 365 Sales",
) -> TransferredColumns:
    """`transfer` for every record of `source`, computed field by field over columns."""
    size = len(source)
    result = TransferredColumns([], {}, {}, np.full(size, None, dtype=object), np.zeros(size, bool))
    cells: dict[str | None, Cells] = {}
    for rule in rules:
        rows = np.flatnonzero(~result.failed)  # BC stops at a record's first error
        if not len(rows):
            break
        if rule.source_field not in cells:
            cells[rule.source_field] = _source_cells(source, rule.source_field)
        values, written, errors = _rule_columns(
            rule, cells[rule.source_field].take(rows), lookups, destination_label
        )
        if errors is not None:
            failed = np.array([error is not None for error in errors], dtype=bool)
            result.errors[rows[failed]] = errors[failed]
            result.failed[rows[failed]] = True
            written &= ~failed
        name = rule.destination_field
        if name not in result.values:
            result.fields.append(name)
            result.values[name] = np.full(size, None, dtype=object)
            result.written[name] = np.zeros(size, bool)
        result.values[name][rows[written]] = values[written]
        result.written[name][rows[written]] = True
    return result


def _source_cells(source: pd.DataFrame, name: str | None) -> Cells:
    if name and name in source.columns:
        return Cells.of(source[name])
    return Cells.blank(len(source))


def _rule_columns(
    rule: FieldRule, cells: Cells, lookups: Mapping[str, LookupTable], destination_label: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One field for a set of records: values, whether each is written, and errors (None: no errors)."""
    size = len(cells.values)
    if rule.is_constant:
        return _filled(rule.constant, size), np.ones(size, bool), None
    if rule.option_map is not None:
        values = _per_unique(cells.values, lambda value: _option_value(rule, value))
        return values, np.array([value is not UNMAPPED for value in values], dtype=bool), None
    if rule.lookup:
        return _lookup_columns(rule, cells, lookups[rule.lookup], destination_label)
    values = cells.values.copy()
    values[cells.is_blank] = None
    texts = np.flatnonzero(cells.kinds == TEXT)
    if len(texts):
        trimmed = cells.text[texts]
        values[texts] = trimmed
        if rule.max_length:  # `truncate`, in UTF-16 code units; a code point is one or two of them
            lengths = np.fromiter(map(len, trimmed), dtype=np.int64, count=len(trimmed))
            maybe = np.flatnonzero(lengths > rule.max_length // 2)
            long = maybe[
                np.fromiter((utf16_length(t) > rule.max_length for t in trimmed[maybe]), bool, len(maybe))
            ]
            values[texts[long]] = object_array(
                (truncate(text, rule.max_length) for text in trimmed[long]), len(long)
            )
    return values, np.ones(size, bool), None


def _lookup_columns(
    rule: FieldRule, cells: Cells, table: LookupTable, destination_label: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    size = len(cells.values)
    values = np.full(size, None, dtype=object)
    errors = np.full(size, None, dtype=object)
    blank = cells.is_blank
    if blank.any() and table.blank_means is not None:
        values[blank] = _filled(table.blank_means, int(blank.sum()))
    present = np.flatnonzero(~blank)
    if len(present):
        raw = cells.values[present]
        # A map through the couplings, looked up once per distinct value.
        translated = _per_unique(raw, lambda value: table.values.get(_lookup_key(value)))
        uncoupled = np.array([value is None for value in translated], dtype=bool)
        if table.maps_to_blank is not None:
            # The destination's "blank" value (the base currency) turns back into a blank code.
            target = normalize(table.maps_to_blank)
            cleared = _per_unique(raw, lambda value: normalize(value) == target).astype(bool)
            translated[cleared] = None
            uncoupled &= ~cleared
        values[present] = translated
        if uncoupled.any() and not rule.clear_on_failed_sync:
            related = table.caption or table.mapping
            errors[present[uncoupled]] = [
                f"{related} {value} must be coupled to a record in {destination_label}."
                for value in raw[uncoupled]
            ]
    has_errors = any(error is not None for error in errors)
    # BC's "Not Null": a null result is not transferred, the destination keeps its value (the owner).
    written = np.array([v is not None for v in values], dtype=bool) if rule.not_null else np.ones(size, bool)
    return values, written, errors if has_errors else None


def _same_rows(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A number per distinct row of a boolean matrix, and the first row having each number."""
    if flags.shape[1] <= 62:
        codes = flags.astype(np.int64) @ (np.int64(1) << np.arange(flags.shape[1], dtype=np.int64))
    else:
        codes = pd.factorize(pd.Series([row.tobytes() for row in flags], dtype=object))[0]
    which, _ = pd.factorize(codes)
    firsts = np.full(which.max() + 1 if len(which) else 0, -1)
    firsts[which[::-1]] = np.arange(len(which))[::-1]  # the last assignment, i.e. the first row, wins
    return which, firsts


def _filled(value: Any, size: int) -> np.ndarray:
    out = np.empty(size, dtype=object)
    out.fill(value)  # any object, also a sequence
    return out


def _per_unique(values: np.ndarray, function: Callable[[Any], Any]) -> np.ndarray:
    """`function` of each value, called once per distinct value (equal values give equal results)."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable values: one by one
        return object_array(map(function, values), len(values))
    results = object_array(map(function, uniques), len(uniques))
    # pandas' missing values (None, NaN, NaT, NA) share one code; they are all blank to `function`.
    missing = object_array([function(None)], 1) if (codes < 0).any() else np.empty(0, dtype=object)
    return np.concatenate([results, missing])[codes]
