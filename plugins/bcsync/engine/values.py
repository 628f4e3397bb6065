"""Value normalisation: when are two field values "the same" for the purpose of a sync."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd


def is_blank(value: Any) -> bool:
    """BC treats an empty text, an empty GUID and a missing value alike."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip() == "" or value == "00000000-0000-0000-0000-000000000000"
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


def truncate(value: Any, max_length: int | None) -> Any:
    """BC truncates text to the destination field's length rather than failing the record."""
    if max_length and isinstance(value, str) and len(value) > max_length:
        return value[:max_length]
    return value


def _looks_like_guid(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4
