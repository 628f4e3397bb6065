"""When a run skips its couple, transform and load tasks: only when no pass has a candidate."""

from __future__ import annotations

import pytest

from bcsync.engine.model import Side
from bcsync.operators.couple import nothing_to_sync
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.results import ExtractResult, StagedFrame

STARTED = "2026-12-06T21:00:00+00:00"


def extract(side: Side, rows: int | None, unresolved: int = 0) -> ExtractResult:
    """A side's extract with `rows` candidates, or not read at all (None)."""
    staged = None if rows is None else StagedFrame(url=f"file:///staging/{side.value}", rows=rows)
    return ExtractResult(side=side.value, staged=staged, started_at=STARTED, unresolved=unresolved)


def run(kind: RunKind) -> RunContext:
    record_ids = ("C1",) if kind is RunKind.RECORDS else ()
    return RunContext(dag_id="bcsync_customer", run_id="r", kind=kind, record_ids=record_ids)


@pytest.mark.parametrize("kind", [RunKind.SCHEDULED, RunKind.FULL, RunKind.BACKFILL])
def test_no_candidate_on_either_side_or_a_side_not_read_is_nothing_to_sync(kind):
    assert nothing_to_sync(run(kind), {Side.BC: extract(Side.BC, 0), Side.CRM: extract(Side.CRM, 0)})
    assert nothing_to_sync(run(kind), {Side.BC: extract(Side.BC, 0), Side.CRM: extract(Side.CRM, None)})


@pytest.mark.parametrize(
    "sides",
    [
        {Side.BC: extract(Side.BC, 1), Side.CRM: extract(Side.CRM, 0)},  # e.g. a record that failed last time
        {Side.BC: extract(Side.BC, 0), Side.CRM: extract(Side.CRM, 3)},
        {Side.BC: extract(Side.BC, 0, unresolved=1), Side.CRM: extract(Side.CRM, 0)},  # counts Failed
    ],
)
def test_a_candidate_or_an_unresolved_record_goes_on(sides):
    assert not nothing_to_sync(run(RunKind.SCHEDULED), sides)


def test_synchronize_now_always_goes_on_so_unknown_records_fail():
    empty = {Side.BC: extract(Side.BC, 0), Side.CRM: extract(Side.CRM, 0)}
    assert not nothing_to_sync(run(RunKind.RECORDS), empty)
