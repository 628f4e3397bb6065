"""Change detection by timestamps, with BC's tolerance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

# TypeHelper.CompareDateTime treats values less than 10 ms apart as equal.
TOLERANCE = timedelta(milliseconds=10)


def to_utc(value: Any) -> datetime | None:
    if value is None or (not isinstance(value, datetime) and pd.isna(value)):
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
