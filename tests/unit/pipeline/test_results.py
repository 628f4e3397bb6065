"""Step results travel between tasks through Airflow's XCom serialization and come back typed."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.serde import deserialize, serialize

from bcsync.engine.model import JobCounters
from bcsync.results import (
    CoupleResult,
    DirectionResult,
    ExtractResult,
    JobResult,
    LoadResult,
    PassCouplings,
    PassPlan,
    PlanPartition,
    PlanResult,
    StagedFrame,
    merge_loads,
)

STAGED = StagedFrame(url="file:///tmp/staging/bcsync_customer/run/CUSTOMER/extract_bc", rows=3)
RESULTS = [
    ExtractResult(side="bc", staged=STAGED, started_at="2026-12-06T10:00:00+00:00", max_modified=None),
    ExtractResult(side="crm", staged=None, started_at="2026-12-06T10:00:00+00:00"),
    CoupleResult(
        passes={"ToIntegrationTable": PassCouplings(couplings=STAGED, destination=STAGED, coupled=2)}
    ),
    PlanResult(
        passes={"ToIntegrationTable": PassPlan(plan=STAGED, planned=JobCounters(inserted=2, failed=1))}
    ),
    PlanResult(
        passes={
            "ToIntegrationTable": PassPlan(
                plan=STAGED,
                planned=JobCounters(inserted=3),
                partitions=(
                    PlanPartition(index=0, of=2, start=0, stop=2, planned=JobCounters(inserted=2)),
                    PlanPartition(index=1, of=2, start=2, stop=3, planned=JobCounters(inserted=1)),
                ),
            )
        }
    ),
    LoadResult(sync_pass="ToIntegrationTable", job_id="j", counters=JobCounters(modified=4), failed=0),
    LoadResult(sync_pass="ToIntegrationTable", job_id="j", partition=1, partitions=2),
    JobResult(
        mapping="CUSTOMER",
        run_kind="scheduled",
        dry_run=False,
        directions={"ToIntegrationTable": DirectionResult(status="done", counters=JobCounters(failed=1))},
    ),
]


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: type(r).__name__)
def test_a_result_survives_xcom_as_the_same_typed_value(result):
    # XCom stores JSON: what serialize gives must be JSON, and deserialize must rebuild the class.
    stored = json.loads(json.dumps(serialize(result)))
    assert deserialize(stored) == result


def test_the_job_summary_is_flat_json_with_bcs_counter_names():
    job = RESULTS[-1]
    assert job.failed == 1
    assert job.summary() == {
        "mapping": "CUSTOMER",
        "run_kind": "scheduled",
        "dry_run": False,
        "failed": 1,
        "directions": {
            "ToIntegrationTable": {
                "status": "done",
                "Inserted": 0,
                "Modified": 0,
                "Deleted": 0,
                "Unchanged": 0,
                "Skipped": 0,
                "Failed": 1,
                "Coupled": 0,
            }
        },
    }


def test_counters_read_back_from_either_form():
    counters = JobCounters(inserted=3, unchanged=5, coupled=1)
    assert JobCounters.from_dict(counters.as_dict()) == counters
    assert JobCounters.from_dict({"inserted": 3, "unchanged": 5, "coupled": 1}) == counters


TO, FROM = "ToIntegrationTable", "FromIntegrationTable"


def _plan(rows: int, *bounds: int) -> PassPlan:
    ranges = list(zip(bounds, [*bounds[1:], rows], strict=True))
    return PassPlan(
        plan=StagedFrame(url="file:///staged", rows=rows),
        planned=JobCounters(inserted=rows),
        partitions=tuple(
            PlanPartition(index=i, of=len(ranges), start=a, stop=b, planned=JobCounters(inserted=b - a))
            for i, (a, b) in enumerate(ranges)
        ),
    )


def test_each_load_task_instance_gets_one_partition_of_each_pass_and_the_counters_add_up():
    # The To pass has three partitions, the From pass one: load_bc's last two instances load nothing.
    parts = PlanResult(passes={TO: _plan(25, 0, 10, 20), FROM: _plan(4, 0)}).partitioned()

    assert len(parts) == 3
    assert [(p.passes[TO].partitions[0].start, p.passes[TO].partitions[0].stop) for p in parts] == [
        (0, 10),
        (10, 20),
        (20, 25),
    ]
    from_sizes = [p.passes[FROM].partitions[0].stop - p.passes[FROM].partitions[0].start for p in parts]
    assert from_sizes == [4, 0, 0]
    assert sum(p.passes[TO].planned.inserted for p in parts) == 25
    assert sum(p.passes[FROM].planned.inserted for p in parts) == 4
    assert {p.passes[TO].partitions[0].of for p in parts} == {3}


def test_a_plan_without_partitions_is_one():
    parts = PlanResult(passes={TO: PassPlan(plan=STAGED, planned=JobCounters(inserted=3))}).partitioned()
    assert len(parts) == 1
    assert parts[0].passes[TO].partitions[0] == PlanPartition(
        index=0, of=1, start=0, stop=3, planned=JobCounters(inserted=3)
    )


def test_the_partitions_loads_are_summed_per_pass():
    loads = [
        LoadResult(sync_pass=TO, job_id="j", counters=JobCounters(inserted=2), failed=1, partitions=2),
        LoadResult(
            sync_pass=TO,
            job_id="j",
            counters=JobCounters(inserted=3, failed=1, extra={"LINES Inserted": 4}),
            partition=1,
            partitions=2,
        ),
    ]
    merged = merge_loads([loads, None, LoadResult(sync_pass=FROM, ran=False)])
    assert set(merged) == {TO}
    assert merged[TO].counters == JobCounters(inserted=5, failed=1, extra={"LINES Inserted": 4})
    assert merged[TO].failed == 1
    assert merged[TO].job_id == "j"


def test_a_pass_with_a_partition_without_a_result_counts_as_a_failed_load():
    loads = [
        LoadResult(sync_pass=TO, job_id="j", partition=0, partitions=3),
        LoadResult(sync_pass=TO, job_id="j", partition=2, partitions=3),
        LoadResult(sync_pass=FROM, job_id="k"),
    ]
    assert set(merge_loads(loads)) == {FROM}
