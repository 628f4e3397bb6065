"""Columns for the random equivalence tests: the same values in each dtype pandas may hand the engine."""

from __future__ import annotations

import io
import random
from typing import Any

import pandas as pd


def as_column(rng: random.Random, values: list[Any]) -> pd.Series:
    """The same values as pandas infers them, as plain objects, read back from Parquet, or in
    nullable / Arrow extension dtypes."""
    how = rng.choice(["infer", "object", "parquet", "parquet", "nullable", "arrow"])
    if how == "object":
        return pd.Series(values, dtype=object)
    try:
        inferred = pd.Series(values)
        if how in ("nullable", "arrow"):
            backend = "pyarrow" if how == "arrow" else "numpy_nullable"
            return inferred.convert_dtypes(dtype_backend=backend)
    except (TypeError, ValueError, ArithmeticError, ImportError):
        return pd.Series(values, dtype=object)
    if how == "parquet":
        try:
            buffer = io.BytesIO()
            pd.DataFrame({"c": inferred}).to_parquet(buffer, index=False)
            return pd.read_parquet(io.BytesIO(buffer.getvalue()))["c"]
        except Exception:  # mixed types Arrow cannot hold: keep what pandas inferred
            return inferred
    return inferred
