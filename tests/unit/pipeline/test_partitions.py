"""Load partitions are cut by writes: a partition holds at most `writes` inserts and modifies, and at
most four rows per write it may hold."""

from __future__ import annotations

import pandas as pd
import pytest

from bcsync.pipeline.partitions import ROWS_PER_WRITE, Partitioner, pass_plan
from bcsync.results import StagedFrame


def plan(actions: str) -> pd.DataFrame:
    """A plan of one row per letter: i insert, m modify, u unchanged, f fail."""
    names = {"i": "insert", "m": "modify", "u": "unchanged", "f": "fail"}
    return pd.DataFrame(
        {"source_id": [f"r{n}" for n in range(len(actions))], "action": [names[a] for a in actions]}
    )


def cut(frames: list[pd.DataFrame], writes: int) -> tuple[list[str], list[int]]:
    partitioner = Partitioner(writes)
    parts = list(partitioner.parts(frames))
    letters = {"insert": "i", "modify": "m", "unchanged": "u", "fail": "f"}
    return ["".join(letters[a] for a in part["action"]) for part in parts], partitioner.bounds


def test_each_partition_holds_at_most_so_many_writes_with_the_rows_between_them():
    parts, bounds = cut([plan("iuumfiiuumi")], writes=2)
    assert parts == ["iuumf", "iiuu", "mi"]
    assert bounds == [0, 5, 9, 11]


def test_the_cut_does_not_depend_on_how_the_plan_was_chunked():
    whole = plan("iuumfiiuumiiiuf")
    chunked = [whole.iloc[a:b] for a, b in ((0, 3), (3, 4), (4, 11), (11, 15))]
    assert cut(chunked, writes=3) == cut([whole], writes=3)
    parts, _ = cut(chunked, writes=3)
    assert "".join(parts) == "iuumfiiuumiiiuf"


def test_rows_that_write_nothing_fill_a_partition_up_to_four_per_write():
    parts, bounds = cut([plan("u" * 10 + "i")], writes=2)
    assert ROWS_PER_WRITE == 4
    assert parts == ["u" * 8, "uui"]
    assert bounds == [0, 8, 11]


def test_an_empty_plan_is_one_empty_partition_with_its_columns():
    parts = list(Partitioner(5).parts([plan("")]))
    assert len(parts) == 1 and list(parts[0].columns) == ["source_id", "action"] and parts[0].empty
    staged = pass_plan(
        "CUSTOMER ToIntegrationTable", StagedFrame(url="file:///x", rows=0), pd.Series([], dtype=object), [0]
    )
    assert [(p.start, p.stop) for p in staged.partitions] == [(0, 0)]


@pytest.mark.parametrize("writes", [1, 3, 100])
def test_partitions_and_their_counters_cover_the_plan_once(writes):
    actions = plan("iiufmmiuuuuuuuuuiif")
    parts, bounds = cut([actions], writes=writes)
    staged = pass_plan(
        "CUSTOMER ToIntegrationTable",
        StagedFrame(url="file:///x", rows=len(actions)),
        actions["action"],
        bounds,
    )
    assert sum(len(p) for p in parts) == len(actions)
    assert [p.stop - p.start for p in staged.partitions] == [len(p) for p in parts]
    assert sum(p.planned.inserted + p.planned.modified for p in staged.partitions) == 7
    assert all(p.planned.inserted + p.planned.modified <= writes for p in staged.partitions)
