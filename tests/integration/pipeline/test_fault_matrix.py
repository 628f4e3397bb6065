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

Not here (they need processes): services killed and restarted mid-run, a task killed with SIGKILL
during its load. Two runs of one job at once is in test_concurrent_runs.py; a lost create answer
in test_lost_answers.py. The sandbox sets the token lifetime only at start, so "short token lifetime"
is played as a service refusing the token once (401) in the middle of the run.
"""

from __future__ import annotations

import json
import os
import traceback
from typing import Any

import pytest

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunKind

TO_CRM, FROM_CRM = "ToIntegrationTable", "FromIntegrationTable"
COUNTERS = ("Inserted", "Modified", "Deleted", "Unchanged", "Skipped", "Failed")
# BC field → Sales field, bidirectional in CUSTOMER, compared on every coupled pair.
COMPARED = {
    "displayName": "name",
    "phoneNumber": "telephone1",
    "city": "address1_city",
    "email": "emailaddress1",
}
WRITES = {"bc": r"\$batch", "dataverse": r"\$batch|Multiple"}  # the routes a load writes through
THROTTLED = {
    "bc": {"code": "Application_TooManyRequests", "message": "Too many requests."},
    "dataverse": {"code": "0x80072322", "message": "Number of requests exceeded the limit."},
}
REFUSED_TOKEN = {
    "bc": {"code": "Authentication_InvalidCredentials", "message": "The token has expired."},
    "dataverse": {"code": "0x80072326", "message": "The access token has expired."},
}


def rules(*rules: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "faults", {"rules": list(rules)}


def protection(**faults: Any) -> tuple[str, dict[str, Any]]:
    return "protection", {"faults": {"retry_after_seconds": 1, "seed": 11, **faults}}


def fault(service: str, name: str) -> tuple[str, dict[str, Any]]:
    """The admin route and body that switch `name` on for `service`."""
    writes = WRITES[service]
    return {
        "5xx rate": lambda: protection(error_rate=0.3),
        "gateway timeout rate": lambda: protection(timeout_rate=0.25, timeout_seconds=0.1),
        "timeout beyond the client's": lambda: rules(
            {"method": "POST", "path": writes, "fault": "timeout", "seconds": 2, "count": 1}
        ),
        "429 with Retry-After": lambda: rules(
            *(
                {
                    "method": method,
                    "path": path,
                    "fault": "status",
                    "status": 429,
                    "retry_after": 1,
                    "count": 1,
                    **THROTTLED[service],
                }
                for method, path in (("POST", writes), (None, ""))
            )
        ),
        "commit then drop (batch)": lambda: rules(
            {"method": "POST", "path": writes, "fault": "drop_after_commit", "count": 1}
        ),
        "commit then drop (single write)": lambda: rules(
            {"method": "PATCH", "path": "", "fault": "drop_after_commit", "count": 1}
        ),
        "token refused mid-run": lambda: rules(
            *(
                {
                    "method": method,
                    "path": path,
                    "fault": "status",
                    "status": 401,
                    "count": 1,
                    **REFUSED_TOKEN[service],
                }
                for method, path in (("POST", writes), (None, ""))
            )
        ),
    }[name]()


FAULTS = [
    "5xx rate",
    "gateway timeout rate",
    "timeout beyond the client's",
    "429 with Retry-After",
    "commit then drop (batch)",
    "token refused mid-run",
]
CLIENT_TIMEOUT = 1.0  # seconds per response, for "timeout beyond the client's"
NO_RANDOM_FAULTS = {"faults": {"error_rate": 0, "timeout_rate": 0, "drop_rate": 0}}


def all_rows(hook, entity_set: str, select: list[str], **options: Any) -> list[dict[str, Any]]:
    return [row for page in hook.iter_pages(entity_set, select=select, **options) for row in page]


def record_counts(harness) -> dict[str, int]:
    return {
        "accounts": len(all_rows(harness.crm, "accounts", ["accountid"])),
        "customers": len(all_rows(harness.bc, "customers", ["id"])),
    }


def short_client_timeout(harness, monkeypatch, seconds: float) -> None:
    """Both connections with `timeout` (seconds per response) lowered, as set in their extra."""
    for variable in ("AIRFLOW_CONN_BC_DEFAULT", "AIRFLOW_CONN_DATAVERSE_DEFAULT"):
        connection = json.loads(os.environ[variable])
        connection["extra"] = {**connection["extra"], "timeout": seconds}
        monkeypatch.setenv(variable, json.dumps(connection))
    for hook in ("bc", "crm"):
        harness.services.__dict__.pop(hook, None)


def failed_in_a_load(error: BaseException) -> bool:
    return any(
        frame.filename.replace("\\", "/").endswith("pipeline/load.py")
        for frame in traceback.extract_tb(error.__traceback__)
    )


def check_counters(harness, summary: dict[str, Any], *, scheduled: bool) -> None:
    """(d) the summary is the job log; Failed is the errors logged by that job; no insert if scheduled."""
    run_id = harness.last_runs["CUSTOMER"].run_id
    jobs = harness.store.jobs("CUSTOMER")
    errors = harness.store.open_errors("CUSTOMER")
    for direction in (TO_CRM, FROM_CRM):
        counters = harness.counters(summary, direction)
        assert all(counters[name] >= 0 for name in COUNTERS), (direction, counters)
        if scheduled:
            assert counters["Inserted"] == 0, (direction, counters)
        job = jobs[(jobs["run_id"] == run_id) & (jobs["direction"] == direction)]
        assert len(job) == 1, (direction, jobs)
        row = job.iloc[0]
        assert {name: int(row[name.lower()]) for name in COUNTERS} == {
            name: counters[name] for name in COUNTERS
        }, direction
        logged = errors[errors["job_id"] == row["job_id"]]
        assert counters["Failed"] == len(logged), (direction, counters, logged)


def folded(value: str | None) -> str | None:
    """Blank as None, and case ignored: CUSTOMER couples "ALPINE SKI HOUSE" to "Alpine Ski House" by
    matching and keeps each side's spelling."""
    return value.casefold() if value else None


def check_invariants(
    harness, before: dict[str, int], edits: list[tuple[str, str, str, str]], fault_name: str
) -> None:
    # (a) nothing twice.
    assert record_counts(harness) == before, "a scheduled run created a record (a duplicate)"
    couplings = harness.store.couplings("CUSTOMER")
    assert couplings["bc_id"].is_unique and couplings["crm_id"].is_unique

    customers = {row["id"]: row for row in all_rows(harness.bc, "customers", ["id", *COMPARED])}
    accounts = {
        row["accountid"]: row for row in all_rows(harness.crm, "accounts", ["accountid", *COMPARED.values()])
    }
    errors = harness.store.open_errors("CUSTOMER")
    named = set(errors["bc_id"].dropna()) | set(errors["crm_id"].dropna())

    # (b) every edit arrived, or an open error names the record.
    bc_of = dict(zip(couplings["crm_id"], couplings["bc_id"], strict=True))
    crm_of = dict(zip(couplings["bc_id"], couplings["crm_id"], strict=True))
    for side, record_id, bc_field, value in edits:
        assert record_id in (crm_of if side == "bc" else bc_of), (fault_name, "uncoupled", record_id)
        if side == "bc":
            arrived = accounts[crm_of[record_id]][COMPARED[bc_field]] == value
            other = crm_of[record_id]
        else:
            arrived = customers[bc_of[record_id]][bc_field] == value
            other = bc_of[record_id]
        assert arrived or {record_id, other} & named, (fault_name, side, record_id, bc_field, value)

    # (c) every coupled pair equal on the compared fields (unless an open error names it).
    for pair in couplings[~couplings["skipped"]].itertuples():
        if {pair.bc_id, pair.crm_id} & named:
            continue
        bc_values = {f: folded(customers[pair.bc_id][f]) for f in COMPARED}
        crm_values = {f: folded(accounts[pair.crm_id][c]) for f, c in COMPARED.items()}
        assert bc_values == crm_values, (fault_name, pair.bc_id, pair.crm_id)


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
    couplings = harness.store.couplings("CUSTOMER")
    numbers = {row["id"]: row["number"] for row in all_rows(harness.bc, "customers", ["id", "number"])}
    pairs = couplings[~couplings["skipped"]].assign(number=lambda frame: frame["bc_id"].map(numbers))
    pairs = pairs.sort_values("number")  # the same pairs every time (created ids are random)
    assert len(pairs) >= 6 * len(FAULTS)
    observed: dict[str, str] = {}
    for round_number, fault_name in enumerate(FAULTS):
        chosen = pairs.iloc[6 * round_number : 6 * round_number + 6]
        edits: list[tuple[str, str, str, str]] = []
        for index, pair in enumerate(chosen.head(3).itertuples()):
            phone, city = f"+1 425 555 {round_number}{index}01", f"Faultville {round_number}{index}"
            harness.bc_edit("customers", pair.bc_id, {"phoneNumber": phone, "city": city})
            edits += [("bc", pair.bc_id, "phoneNumber", phone), ("bc", pair.bc_id, "city", city)]
        for index, pair in enumerate(chosen.tail(3).itertuples()):
            phone, city = f"+1 206 555 {round_number}{index}02", f"Salestown {round_number}{index}"
            harness.sales_user_edit("account", pair.crm_id, {"telephone1": phone, "address1_city": city})
            edits += [("crm", pair.crm_id, "phoneNumber", phone), ("crm", pair.crm_id, "city", city)]

        with monkeypatch.context() as patch:
            if fault_name == "timeout beyond the client's":
                short_client_timeout(harness, patch, CLIENT_TIMEOUT)
            harness.sandbox.admin(service, "POST", "stats/reset")
            route, body = fault(service, fault_name)
            harness.sandbox.admin(service, "POST" if route == "faults" else "PUT", route, json=body)
            try:
                summary, failure = harness.run("CUSTOMER"), None
            except Exception as error:  # the task fails, as Airflow would record it
                summary, failure = None, error
            stats = harness.sandbox.admin(service, "GET", "stats")
            harness.sandbox.admin(service, "DELETE", "faults")
            harness.sandbox.admin(service, "PUT", "protection", json=NO_RANDOM_FAULTS)
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
