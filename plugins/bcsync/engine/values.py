"""Value normalisation: when are two field values "the same" for the purpose of a sync.

`same_value` and `is_blank` decide for one value; `Cells` and `same_values` decide for whole columns
with the same outcome, comparing the common kinds (text, numbers, blanks) as arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ZERO_GUID = "00000000-0000-0000-0000-000000000000"


def is_arrow_text(dtype: Any) -> bool:
    """Whether a column holds pandas' Arrow-backed text (as staged frames are read)."""
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def arrow_parts(column: pd.Series) -> pa.ChunkedArray:
    """The Arrow array under an Arrow-backed column, as its parts (not copied)."""
    arrow = pa.array(column.array)
    return arrow if isinstance(arrow, pa.ChunkedArray) else pa.chunked_array([arrow])


def flags(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean column as a numpy one, null (a missing value) as False."""
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def is_in(column: pd.Series, values: Iterable[Any]) -> pd.Series:
    """`column.isin(values)`. For pandas' Arrow-backed text columns the set is handed to Arrow in one
    piece: pandas turns each value into an Arrow scalar first (1.7 s for the couple and load steps'
    sets of 100,000 ids). Sets holding anything but text keep pandas' own rules for blanks.
    `values` may be an Arrow-backed text column itself: then no Python string is made for its values."""
    if not is_arrow_text(column.dtype):
        return column.isin(values)
    arrow = arrow_parts(column)
    if isinstance(values, pd.Series | pd.Index) and is_arrow_text(values.dtype) and not values.hasnans:
        value_set = pa.array(values.array).cast(arrow.type)
    else:
        wanted = list(values)
        texts = [value for value in wanted if isinstance(value, str)]
        if len(texts) < len(wanted):
            return column.isin(wanted)
        if not texts:
            return pd.Series(np.zeros(len(column), bool), index=column.index)
        value_set = pa.array(texts, type=arrow.type)
    return pd.Series(flags(pc.is_in(arrow, value_set=value_set)), index=column.index)


def is_blank(value: Any) -> bool:
    """BC treats an empty text, an empty GUID and a missing value alike."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip() == "" or value == ZERO_GUID
    try:
        return bool(pd.isna(value))  # pandas.NA, NaT, numpy NaN
    except (TypeError, ValueError):  # containers
        return False


def normalize(value: Any) -> Any:
    """A comparable form: blanks → None, text trimmed, numbers exact, GUIDs lowercase."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(str(value)).normalize()
        except InvalidOperation:
            return value
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return normalize(value.item())
    return value


def same_value(left: Any, right: Any) -> bool:
    a, b = normalize(left), normalize(right)
    if isinstance(a, str) and isinstance(b, str) and _looks_like_guid(a) and _looks_like_guid(b):
        return a.lower() == b.lower()
    return a == b


def utf16_length(text: str) -> int:
    """The length both services count: UTF-16 code units (.NET strings), so an emoji counts 2."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def truncate(value: Any, max_length: int | None) -> Any:
    """BC truncates text to the destination field's length rather than failing the record.

    The length is in UTF-16 code units, as both services count it; a character that would be cut in
    half (an emoji at the boundary) is left out whole, since half a surrogate pair is refused."""
    if max_length and isinstance(value, str) and utf16_length(value) > max_length:
        return _cut_utf16(value, max_length)
    return value


def _cut_utf16(text: str, max_length: int) -> str:
    units = 0
    for position, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > max_length:
            return text[:position]
    return text


def _looks_like_guid(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4


# ---- columns ----------------------------------------------------------------------------------------

# The kind of a cell. Blank, text and numbers are compared as arrays; anything else (dates, Decimals,
# numpy scalars inside object columns, very large integers) one by one with `same_value`.
BLANK, TEXT, NUMBER, OTHER = 0, 1, 2, 3
_FLOAT, _INT, _UNKNOWN = 4, 5, 6
_KIND_OF_TYPE = {type(None): BLANK, str: TEXT, bool: NUMBER, int: _INT, float: _FLOAT}
# Integers up to 2**53 compare exactly as floats; beyond that `same_value`'s Decimal rule decides.
_EXACT_INT = 2**53


def object_array(values: Iterable[Any], size: int) -> np.ndarray:
    """A 1-d object array (np.array would make nested sequences 2-d)."""
    return np.fromiter(values, dtype=object, count=size)


def python_values(column: pd.Series) -> np.ndarray:
    """The column's values as the Python objects `DataFrame.to_dict` gives, as an object array."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind != "O":
        return object_array(column, len(column))  # iteration already yields Python scalars
    if isinstance(dtype, pd.StringDtype):  # str or NaN; pandas.NA becomes None, as in to_dict
        return column.to_numpy(dtype=object, na_value=None if dtype.na_value is pd.NA else np.nan)
    return object_array(map(_native, column), len(column))


def _native(value: Any) -> Any:
    # What pandas' `to_dict` does to the cells of object and extension columns.
    if isinstance(value, np.generic):
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.datetime64):
            return pd.Timestamp(value)
        if isinstance(value, np.timedelta64):
            return pd.Timedelta(value)
    return None if value is pd.NA else value


@dataclass(frozen=True)
class Cells:
    """One column of values (the Python objects `to_dict` would give) with each cell's kind and,
    for text, its trimmed form."""

    values: np.ndarray  # object
    kinds: np.ndarray  # int8: BLANK / TEXT / NUMBER / OTHER
    text: np.ndarray  # object: the trimmed text where the kind is TEXT

    @classmethod
    def of(cls, column: pd.Series) -> Cells:
        dtype = column.dtype
        values = python_values(column)
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            return cls(values, _number_kinds(column.to_numpy()), np.full(len(values), None, dtype=object))
        if (isinstance(dtype, np.dtype) and dtype.kind in "mM") or isinstance(dtype, pd.DatetimeTZDtype):
            kinds = np.where(column.isna().to_numpy(), BLANK, OTHER).astype(np.int8)
            return cls(values, kinds, np.full(len(values), None, dtype=object))
        if is_arrow_text(dtype):
            return cls._of_arrow_text(column, values)
        if isinstance(dtype, pd.StringDtype):
            kinds = np.where(column.isna().to_numpy(), BLANK, TEXT).astype(np.int8)
            text = column.str.strip().to_numpy(dtype=object, na_value=None)
            return cls._with_blank_text(values, kinds, text)
        return cls.of_values(values)

    @classmethod
    def _of_arrow_text(cls, column: pd.Series, values: np.ndarray) -> Cells:
        """Arrow-backed text, classified in Arrow: its trim removes exactly what str.strip() removes, and
        only the values the trim changes (few: most text has no surrounding blanks) become Python text
        again; the others are `values`' own objects."""
        raw = arrow_parts(column)
        trimmed = pc.utf8_trim_whitespace(raw)
        missing = column.isna().to_numpy()
        # As is_blank: blank once trimmed, or the empty GUID as it is (untrimmed).
        blank = flags(pc.or_(pc.equal(trimmed, ""), pc.equal(raw, ZERO_GUID)))
        changed = np.flatnonzero(flags(pc.not_equal(trimmed, raw)))
        text = values.copy()
        text[missing] = None
        text[changed] = trimmed.take(pa.array(changed, type=pa.int64())).to_numpy(zero_copy_only=False)
        kinds = np.where(missing | blank, BLANK, TEXT).astype(np.int8)
        return cls(values, kinds, text)

    @classmethod
    def of_values(cls, values: np.ndarray) -> Cells:
        """Cells of an object array of Python values (classified by type, one pass)."""
        kinds = np.fromiter(
            (_KIND_OF_TYPE.get(type(value), _UNKNOWN) for value in values), dtype=np.int8, count=len(values)
        )
        floats = kinds == _FLOAT
        if floats.any():
            kinds[floats] = np.where(np.isnan(values[floats].astype(float)), BLANK, NUMBER)
        ints = kinds == _INT
        if ints.any():
            exact = np.fromiter((-_EXACT_INT <= v <= _EXACT_INT for v in values[ints]), bool, int(ints.sum()))
            kinds[ints] = np.where(exact, NUMBER, OTHER)
        unknown = np.flatnonzero(kinds == _UNKNOWN)
        for position in unknown:  # subclasses, numpy scalars, Decimals, dates, pandas' missing values
            value = values[position]
            kinds[position] = TEXT if isinstance(value, str) else BLANK if is_blank(value) else OTHER
        text = np.full(len(values), None, dtype=object)
        texts = kinds == TEXT
        if texts.any():
            text[texts] = pd.Series(values[texts], dtype=object).str.strip().to_numpy()
        return cls._with_blank_text(values, kinds, text)

    @classmethod
    def blank(cls, size: int) -> Cells:
        """A column that is not there: `dict.get` gives None for every record."""
        empty = np.full(size, None, dtype=object)
        return cls(empty, np.full(size, BLANK, dtype=np.int8), empty)

    @classmethod
    def _with_blank_text(cls, values: np.ndarray, kinds: np.ndarray, text: np.ndarray) -> Cells:
        texts = kinds == TEXT
        if texts.any():
            blank = (text[texts] == "") | (values[texts] == ZERO_GUID)  # as is_blank: ZERO_GUID untrimmed
            kinds[np.flatnonzero(texts)[blank]] = BLANK
        return cls(values, kinds, text)

    @property
    def is_blank(self) -> np.ndarray:
        return self.kinds == BLANK

    def take(self, positions: np.ndarray) -> Cells:
        return Cells(self.values[positions], self.kinds[positions], self.text[positions])


def _number_kinds(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "f":
        return np.where(np.isnan(array), BLANK, NUMBER).astype(np.int8)
    if array.dtype.kind == "b":
        return np.full(len(array), NUMBER, dtype=np.int8)
    exact = (array >= -_EXACT_INT) & (array <= _EXACT_INT)
    return np.where(exact, NUMBER, OTHER).astype(np.int8)


def same_values(left: Cells, right: Cells) -> np.ndarray:
    """`same_value` of each pair of aligned cells, as a boolean array."""
    lk, rk = left.kinds, right.kinds
    same = (lk == BLANK) & (rk == BLANK)
    text = (lk == TEXT) & (rk == TEXT)
    if text.any():
        same[text] = _same_texts(left.text[text], right.text[text])
    numbers = (lk == NUMBER) & (rk == NUMBER)
    if numbers.any():
        same[numbers] = left.values[numbers].astype(float) == right.values[numbers].astype(float)
    # Text next to a date can still be "the same" (dates compare as ISO text): one by one.
    one_by_one = np.flatnonzero(((lk == OTHER) & (rk != BLANK)) | ((rk == OTHER) & (lk != BLANK)))
    for position in one_by_one:
        same[position] = same_value(left.values[position], right.values[position])
    return same


def _same_texts(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    same = (left == right).astype(bool)
    if not same.all():
        # GUIDs compare case-insensitively; Python's lower(), not Arrow's, for any other letters.
        a, b = pd.Series(left[~same], dtype=object), pd.Series(right[~same], dtype=object)
        guids = _guid_like(a) & _guid_like(b)
        if guids.any():
            lowered = a[guids].str.lower().to_numpy() == b[guids].str.lower().to_numpy()
            rest = np.flatnonzero(~same)
            same[rest[guids.to_numpy()]] = lowered
    return same


def _guid_like(text: pd.Series) -> pd.Series:
    return (text.str.len() == 36) & (text.str.count("-") == 4)
