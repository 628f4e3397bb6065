"""A fault matrix through the real path: for each of BC and Dataverse, one fault the sandbox injects
while it runs, during an incremental CUSTOMER run with edits on both sides; then the fault is switched
off, the failed load is retried as Airflow would (or the job simply runs again), and one invariant
check follows:

(a) nothing exists twice: no record on either side more than before (a scheduled run creates none),
    every coupling's ids distinct;
(b) every edit arrived on the other side, or there is an open record error naming that record;
(c) every coupled pair is equal on the mapped bidirectional fields compared here;
(d) the counters add up: the summary equals the job log, `Failed` equals the record errors logged by
    that job, a scheduled run inserts nothing, and a last run finds nothing left to change.

The check is `fault_invariants.py`. Not here: the process-level rows (services killed and restarted
mid-run, a load task killed with SIGKILL and rerun, commit-then-drop on a single write, tokens that
expire within seconds) are in test_i9_process_faults.py; two runs of one job at once in
test_concurrent_runs.py; a lost create answer in test_lost_answers.py.
"""

from __future__ import annotations

import json
import os

import pytest
from fault_invariants import (
    FROM_CRM,
    TO_CRM,
    check_counters,
    check_invariants,
    edit_both_sides,
    failed_in_a_load,
    record_counts,
    stable_pairs,
    switch_off_faults,
    switch_on,
)

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunKind

FAULTS = [
    "5xx rate",
    "gateway timeout rate",
    "timeout beyond the client's",
    "429 with Retry-After",
    "commit then drop (batch)",
    "token refused mid-run",
]
CLIENT_TIMEOUT = 1.0  # seconds per response, for "timeout beyond the client's"


def short_client_timeout(harness, monkeypatch, seconds: float) -> None:
    """Both connections with `timeout` (seconds per response) lowered, as set in their extra."""
    for variable in ("AIRFLOW_CONN_BC_DEFAULT", "AIRFLOW_CONN_DATAVERSE_DEFAULT"):
        connection = json.loads(os.environ[variable])
        connection["extra"] = {**connection["extra"], "timeout": seconds}
        monkeypatch.setenv(variable, json.dumps(connection))
    for hook in ("bc", "crm"):
        harness.services.__dict__.pop(hook, None)


@pytest.mark.parametrize("service", ["bc", "dataverse"])
def test_incremental_runs_under_each_fault_leave_no_duplicate_no_lost_change_and_equal_pairs(
    harness, monkeypatch, service
):
    """One round per fault on the same data: edits on both sides, the fault on, a scheduled run (its
    failed load retried, as Airflow would), the fault off, a recovery run, the invariants."""
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)
    harness.run("CUSTOMER", RunKind.FULL)
    before = record_counts(harness)
    pairs = stable_pairs(harness)
    assert len(pairs) >= 6 * len(FAULTS)
    observed: dict[str, str] = {}
    for round_number, fault_name in enumerate(FAULTS):
        edits = edit_both_sides(
            harness, pairs.iloc[6 * round_number : 6 * round_number + 6], str(round_number)
        )

        with monkeypatch.context() as patch:
            if fault_name == "timeout beyond the client's":
                short_client_timeout(harness, patch, CLIENT_TIMEOUT)
            harness.sandbox.admin(service, "POST", "stats/reset")
            switch_on(harness, service, fault_name)
            try:
                summary, failure = harness.run("CUSTOMER"), None
            except Exception as error:  # the task fails, as Airflow would record it
                summary, failure = None, error
            stats = harness.sandbox.admin(service, "GET", "stats")
            switch_off_faults(harness, service)
            outcome = (
                f"run completed: {[harness.counters(summary, d) for d in (TO_CRM, FROM_CRM)]}"
                if failure is None
                else f"run failed: {failure!r}"[:300]
            )
            messages = set(harness.store.open_errors("CUSTOMER")["message"].str[:90])
            observed[fault_name] = (
                f"{outcome}; {stats.get('faults_injected')}; {stats['by_method']}; {messages}"
            )
            assert sum((stats.get("faults_injected") or {}).values()), (fault_name, stats, observed)
            if failure is not None and failed_in_a_load(failure):
                harness.retry_load("CUSTOMER", Side.BC if service == "bc" else Side.CRM)
            elif summary is not None:
                check_counters(harness, summary, scheduled=True)
        for hook in ("bc", "crm"):  # the connections as configured again
            harness.services.__dict__.pop(hook, None)
        recovery = harness.run("CUSTOMER")
        check_counters(harness, recovery, scheduled=True)
        check_invariants(harness, before, edits, fault_name)

    print(service, json.dumps(observed, indent=1))
    quiet = harness.run("CUSTOMER")
    check_counters(harness, quiet, scheduled=True)
    for direction in (TO_CRM, FROM_CRM):
        counters = harness.counters(quiet, direction)
        assert counters["Modified"] == counters["Failed"] == 0, (direction, counters)
