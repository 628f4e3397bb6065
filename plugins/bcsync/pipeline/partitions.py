"""A pass's plan cut into load partitions: one load task each.

A partition holds at most `writes` records to write (inserts and modifies), whatever else the plan
holds between them: a load's requests follow its writes (a bulk message per 1,000, then one page of
5,000 to read their modified-on back), while a record found unchanged or failed costs no request. Cut by
rows instead, a partition of 10,000 rows with 5,400 writes sent six bulk messages and read two pages.
Records that write nothing still cost the load some store work, so a partition also holds at most
`ROWS_PER_WRITE` rows per write it may hold: a pass of a million unchanged records is not one task.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from bcsync.engine.model import WRITE_ACTIONS
from bcsync.engine.planner import count_actions
from bcsync.pipeline.frames import concat_alike
from bcsync.results import PassPlan, PlanPartition, StagedFrame

log = logging.getLogger(__name__)

ROWS_PER_WRITE = 4


class Partitioner:
    """Cuts the plan's frames, as they are planned, into one frame per partition (a staged part each),
    and keeps where each partition starts."""

    def __init__(self, writes: int) -> None:
        self.writes = writes
        self.rows = writes * ROWS_PER_WRITE  # Python ints: WHOLE times four does not overflow
        self.bounds = [0]  # row positions where partitions start, then the end of the plan

    def parts(self, frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        held: list[pd.DataFrame] = []
        held_rows = held_writes = 0
        for frame in frames:
            if not held and not len(frame):
                held = [frame]  # keeps the columns of a plan with no rows
                continue
            while len(frame):
                is_write = frame["action"].isin(WRITE_ACTIONS).to_numpy()
                writes_so_far = np.cumsum(is_write)
                # Leading rows that fit: writes within the room left, and rows within theirs.
                fit = int(np.searchsorted(writes_so_far, self.writes - held_writes, side="right"))
                take = min(fit, self.rows - held_rows)
                held = [f for f in held if len(f)] + [frame.iloc[:take]]
                held_rows += take
                held_writes += int(writes_so_far[take - 1]) if take else 0
                frame = frame.iloc[take:]
                if len(frame):  # the next row does not fit: the partition is full
                    yield self._close(held, held_rows)
                    held, held_rows, held_writes = [], 0, 0
        if held_rows or held:
            yield self._close(held, held_rows)

    def _close(self, held: list[pd.DataFrame], rows: int) -> pd.DataFrame:
        if rows:
            self.bounds.append(self.bounds[-1] + rows)
        frames = [f for f in held if len(f)] or held[:1]
        return concat_alike(frames).reset_index(drop=True)


def pass_plan(name: str, staged: StagedFrame, actions: pd.Series, bounds: list[int]) -> PassPlan:
    """The staged plan and its partitions (`bounds`: where each starts, then the plan's end)."""
    ranges = list(itertools.pairwise(bounds)) or [(0, 0)]
    partitions = tuple(
        PlanPartition(index=i, of=len(ranges), start=a, stop=b, planned=count_actions(actions.iloc[a:b]))
        for i, (a, b) in enumerate(ranges)
    )
    if len(partitions) > 1:
        log.info("%s: %d load partitions", name, len(partitions))
    return PassPlan(plan=staged, planned=count_actions(actions), partitions=partitions)
