"""Checks and conversions between the caller's pandas frames and the store's rows.

Bad input is refused with a message naming the column and an example of the offending value, before
anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Row

from bcsync.store.schema import Direction

GUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
E = TypeVar("E", bound=StrEnum)
_CANONICAL_GUID = re.compile(GUID_PATTERN).fullmatch

BATCH_SIZE = 5_000  # rows per bulk statement; also bounds IN lists below SQLite's variable limit


class StoreInputError(ValueError):
    """Rows handed to the store are malformed (missing column, bad GUID, naive timestamp, ...)."""


def frame_of(rows: pd.DataFrame | Iterable[Any]) -> pd.DataFrame:
    """Accept a frame, or dicts/dataclasses, as rows."""
    if isinstance(rows, pd.DataFrame):
        return rows
    records = [row if isinstance(row, dict) else vars(row) for row in rows]
    return pd.DataFrame.from_records(records)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise StoreInputError(f"{what}: missing column(s) {missing}; got {list(frame.columns)}")


def guids(values: Any, column: str, *, optional: bool = False) -> pd.Series:
    """GUID strings in canonical form (lower case, with hyphens, no braces)."""
    items = values.tolist() if hasattr(values, "tolist") else list(values)
    # The common case, ids in canonical form already: checked value by value, with no pandas string
    # operations (each a pass over the column: together they cost more than the store's SQL).
    if all(type(item) is str and _CANONICAL_GUID(item) for item in items):
        return pd.Series(items, dtype="object")
    series = pd.Series(items, dtype="object")
    present = series.notna()
    if not optional and not present.all():
        raise StoreInputError(f"{column}: a GUID is required, got a blank value")
    text = series[present].astype(str).str.strip().str.strip("{}").str.lower()
    bad = ~text.str.fullmatch(GUID_PATTERN)
    if bad.any():
        raise StoreInputError(f"{column}: not a GUID: {series[present][bad].iloc[0]!r}")
    result = series.copy()
    result[present] = text
    return result.where(present, None)


def guid_list(values: Iterable[Any] | None, column: str) -> list[str]:
    if values is None:
        return []
    return guids(list(values), column).dropna().drop_duplicates().tolist()


def utc_column(values: Any, column: str) -> pd.Series:
    """Timezone-aware UTC timestamps; blank stays blank, naive values are refused."""
    series = pd.Series(values)
    if series.empty:
        return pd.Series(series, dtype="datetime64[us, UTC]")
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert(UTC)
    present = series.dropna()
    naive = [value for value in present if not _is_aware(value)]
    if naive:
        raise StoreInputError(f"{column}: timezone-aware UTC timestamps required, got {naive[0]!r}")
    return pd.to_datetime(series, utc=True)


def _is_aware(value: Any) -> bool:
    if isinstance(value, datetime):
        return value.tzinfo is not None and value.utcoffset() is not None
    if isinstance(value, str):
        return pd.Timestamp(value).tzinfo is not None
    return False


def utc(value: datetime | None, what: str) -> datetime | None:
    if value is None:
        return None
    if not _is_aware(value):
        raise StoreInputError(f"{what}: timezone-aware UTC timestamp required, got {value!r}")
    return pd.Timestamp(value).tz_convert(UTC).to_pydatetime()


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts for executemany, with NaN/NaT as NULL (pandas Timestamps are datetimes already)."""
    names = list(frame.columns)
    columns = [frame[name].astype(object).where(frame[name].notna(), None).tolist() for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def batches(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def to_frame(
    rows: Sequence[Row[Any]], columns: Sequence[str], timestamps: Sequence[str] = ()
) -> pd.DataFrame:
    """Query rows as a frame with the given columns (also when empty) and UTC timestamp columns."""
    frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=list(columns))
    for column in timestamps:
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    return frame


def enum_of(kind: type[E], value: object, what: str) -> E:
    """A member of a string enum from itself or its value, or a clear error listing the choices."""
    try:
        return kind(str(value))
    except ValueError:
        raise StoreInputError(
            f"{what}: {value!r} is not one of {[member.value for member in kind]}"
        ) from None


def direction_of(value: object) -> Direction:
    """A direction from a `Direction`, the engine's `SyncPass`, or BC's option name."""
    return enum_of(Direction, value, "direction")
