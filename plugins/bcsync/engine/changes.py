"""Change detection by timestamps, with BC's tolerance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from bcsync.engine.values import python_values

# TypeHelper.CompareDateTime treats values less than 10 ms apart as equal.
TOLERANCE = timedelta(milliseconds=10)


def to_utc(value: Any) -> datetime | None:
    """The value as an aware UTC datetime; None for a blank (None, NaN, NaT: a typed column's blank)."""
    if value is None or value is pd.NaT or (not isinstance(value, datetime) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def modified_since(modified_on: Any, last_synced_on: Any) -> bool:
    """Whether a record changed after the coupling's last-synced timestamp (blank = never synced)."""
    current, synced = to_utc(modified_on), to_utc(last_synced_on)
    if synced is None:
        return True
    if current is None:
        return False
    return current - synced > TOLERANCE


def modified_since_columns(
    modified_on: pd.Series | None, last_synced_on: pd.Series | None, size: int
) -> np.ndarray:
    """`modified_since` for `size` aligned values (None: the column is missing, every value is None)."""
    current_none, current = _utc_column(modified_on, size)
    synced_none, synced = _utc_column(last_synced_on, size)
    later = ((current - synced) > pd.Timedelta(TOLERANCE)).to_numpy()  # NaT on either side: False
    return synced_none | (~current_none & later)


def _utc_column(column: pd.Series | None, size: int) -> tuple[np.ndarray, pd.Series]:
    """Which values `to_utc` turns into None, and the others as UTC timestamps in microseconds."""
    if column is None:
        return np.ones(size, bool), pd.Series(pd.NaT, index=range(size), dtype="datetime64[us, UTC]")
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        stamps = column.dt.tz_localize("UTC") if column.dt.tz is None else column.dt.tz_convert("UTC")
        # to_pydatetime drops nanoseconds; NaT is a blank, as to_utc says.
        stamps = stamps.dt.floor("us").dt.as_unit("us").reset_index(drop=True)
        return stamps.isna().to_numpy(), stamps
    converted = [to_utc(value) for value in python_values(column)]  # text, mixed zones, objects
    none = np.fromiter((value is None for value in converted), bool, size)
    stamps = pd.Series([pd.NaT if value is None else value for value in converted], dtype=object)
    return none, pd.to_datetime(stamps, utc=True).dt.as_unit("us")
