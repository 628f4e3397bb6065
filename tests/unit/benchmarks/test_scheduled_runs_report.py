"""benchmarks/scheduled_runs.py reads each task's timing line: bcsync's wall and CPU, the task's peak RSS."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from bcsync.operators.base import TIME_MARKER

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.fixture(scope="module")
def scheduled_runs():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("scheduled_runs")
    finally:
        sys.path.remove(str(BENCHMARKS))


LOG = f"""[00:10:01] INFO - starting
[00:10:03] INFO - {TIME_MARKER}: CUSTOMER load_crm 2.742 s, cpu 2.850 s, peak rss 618 MB, 412 MB at start
[00:11:03] INFO - {TIME_MARKER}: CUSTOMER load_crm 0.500 s, cpu 0.250 s, peak rss ? MB, ? MB at start
[00:12:03] INFO - {TIME_MARKER}: CUSTOMER extract 1.000 s, cpu 0.750 s
"""


def test_code_times_read_wall_cpu_and_peak(scheduled_runs):
    lines = scheduled_runs.code_times(LOG)

    assert [(t.step, t.wall, t.cpu, t.peak_rss_mb) for t in lines] == [
        ("load_crm", 2.742, 2.85, 618),
        ("load_crm", 0.5, 0.25, None),  # the task could not read its peak
        ("extract", 1.0, 0.75, None),  # a line of a version without the peak
    ]


def test_hungriest_task_and_its_label(scheduled_runs):
    label = scheduled_runs.task_label
    peaks = [
        scheduled_runs.TaskPeak(label({"task_id": "extract_bc", "map_index": -1}), 402),
        scheduled_runs.TaskPeak(label({"task_id": "load_crm", "map_index": 0}), 655),
        scheduled_runs.TaskPeak(label({"task_id": "load_crm", "map_index": 1}), 590),
    ]

    assert scheduled_runs.hungriest(peaks) == scheduled_runs.TaskPeak("load_crm[0]", 655)
    assert scheduled_runs.hungriest([]) is None
    assert scheduled_runs._peak(None) == "-"
    assert scheduled_runs._peak(peaks[1]) == "655 (load_crm[0])"


def test_a_task_that_ran_and_ended_skipped_counts_as_ran(scheduled_runs):
    # couple does its work (lease, clean-up) and then skips the rest: its timing line is bcsync's time.
    assert scheduled_runs.started({"task_id": "couple", "state": "skipped", "try_number": 1})
    assert not scheduled_runs.started({"task_id": "transform", "state": "skipped", "try_number": 0})
    assert scheduled_runs.started({"task_id": "extract_bc", "state": "success", "try_number": 2})
