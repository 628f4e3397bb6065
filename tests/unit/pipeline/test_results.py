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
    PlanResult,
    StagedFrame,
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
    LoadResult(sync_pass="ToIntegrationTable", job_id="j", counters=JobCounters(modified=4), failed=0),
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
