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
from sqlalchemy import Connection, Executable, Row

from bcsync.store.schema import Direction

GUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
E = TypeVar("E", bound=StrEnum)
# Canonical GUIDs joined by newlines: one regex pass over a whole column of them.
_CANONICAL_GUID_LINES = re.compile(f"(?:{GUID_PATTERN}\n)*{GUID_PATTERN}").fullmatch
_GUID_LENGTH = 36

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
    # The common case, ids in canonical form already: checked in one regex pass, with no pandas
    # string operations nor a Python call per id (either cost more than the store's SQL).
    if _all_canonical(items):
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


def _all_canonical(items: list[Any]) -> bool:
    """Every item is a str holding one canonical GUID. Joined by newlines they must match GUID lines,
    and be exactly as long as len(items) GUIDs: an item holding a newline or two GUIDs cannot."""
    if not items:
        return True
    if set(map(type, items)) != {str}:
        return False
    joined = "\n".join(items)
    return len(joined) == len(items) * (_GUID_LENGTH + 1) - 1 and bool(_CANONICAL_GUID_LINES(joined))


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


def driver_rows(conn: Connection, statement: Executable) -> list[tuple[Any, ...]]:
    """The statement's rows as the driver returns them: tuples, with no SQLAlchemy `Row` built and
    no per-value result processing (at thousands of rows these cost more than the query). Select
    timestamps as text and pass boolean columns to `to_frame` to convert them by column."""
    result = conn.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def to_frame(
    rows: Sequence[Row[Any] | tuple[Any, ...]],
    columns: Sequence[str],
    timestamps: Sequence[str] = (),
    booleans: Sequence[str] = (),
) -> pd.DataFrame:
    """Query rows as a frame with the given columns (also when empty) and UTC timestamp columns.
    `booleans`: columns of driver rows that SQLite returns as 0/1, made True/False."""
    frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=list(columns))
    for column in timestamps:
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    for column in booleans if len(frame) else ():
        frame[column] = _booleans(frame[column])
    return frame


def _booleans(values: pd.Series) -> pd.Series:
    """0/1 (or True/False) as bool, NULL as None: as SQLAlchemy's Boolean type reads them."""
    if values.notna().all():
        return values.astype(bool)
    return pd.Series([None if pd.isna(v) else bool(v) for v in values], index=values.index, dtype=object)


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
