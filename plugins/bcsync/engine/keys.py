"""Rows of record ids: where each of a column of wanted ids sits in a column of unique ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from bcsync.engine.values import arrow_parts, is_arrow_text, python_values


class KeyIndex:
    """A column of ids to look other ids up in, as a dict keyed by them would.

    Staged ids are Arrow text: those are matched in Arrow, without a Python string for either side
    (a pandas Index of Arrow text turns both sides into Python strings first, at every look-up)."""

    def __init__(self, keys: pd.Series) -> None:
        self._keys = keys
        self._arrow = arrow_parts(keys) if is_arrow_text(keys.dtype) else None
        self._index: pd.Index | None = None

    @property
    def is_unique(self) -> bool:
        if self._arrow is not None:
            return bool(pc.count_distinct(self._arrow, mode="all").as_py() == len(self._arrow))
        return bool(self._pandas().is_unique)

    def duplicate(self) -> object:
        """The first id that appears twice (for an error message)."""
        index = self._pandas()
        return index[index.duplicated()][0]

    def positions(self, wanted: pd.Series) -> np.ndarray:
        """The row of each wanted id (-1 if absent); the ids must be unique (see `is_unique`)."""
        if self._arrow is not None and is_arrow_text(wanted.dtype):
            found = pc.index_in(arrow_parts(wanted), value_set=self._arrow)
            return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.intp)
        return self._pandas().get_indexer(python_values(wanted))

    def _pandas(self) -> pd.Index:
        if self._index is None:
            self._index = pd.Index(self._keys)
        return self._index
