"""The invariant check the fault tests share (test_fault_matrix.py, test_i9_process_faults.py,
test_i9_convergence.py): after faults and a recovery run,

(a) nothing exists twice: no record on either side more than before (a scheduled run creates none),
    every coupling's ids distinct;
(b) every edit arrived on the other side, or there is an open record error naming that record;
(c) every coupled pair is equal on the mapped bidirectional fields compared here;
(d) the counters add up: the summary equals the job log, `Failed` equals the record errors logged by
    that job, a scheduled run inserts nothing.
"""

from __future__ import annotations

import traceback
from typing import Any

import pandas as pd

TO_CRM, FROM_CRM = "ToIntegrationTable", "FromIntegrationTable"
COUNTERS = ("Inserted", "Modified", "Deleted", "Unchanged", "Skipped", "Failed")
# BC field → Sales field, bidirectional in CUSTOMER, compared on every coupled pair.
COMPARED = {
    "displayName": "name",
    "phoneNumber": "telephone1",
    "city": "address1_city",
    "email": "emailaddress1",
}
Edit = tuple[str, str, str, str]  # side ("bc"/"crm"), record id, BC field, value

# ---- the fault switches of the local services (admin routes) ----------------------------------------

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


NO_RANDOM_FAULTS = {"faults": {"error_rate": 0, "timeout_rate": 0, "drop_rate": 0}}


def switch_off_faults(harness, service: str) -> None:
    harness.sandbox.admin(service, "DELETE", "faults")
    harness.sandbox.admin(service, "PUT", "protection", json=NO_RANDOM_FAULTS)


def switch_on(harness, service: str, name: str) -> None:
    route, body = fault(service, name)
    harness.sandbox.admin(service, "POST" if route == "faults" else "PUT", route, json=body)


# ---- the check ----------------------------------------------------------------------------------------


def all_rows(hook, entity_set: str, select: list[str], **options: Any) -> list[dict[str, Any]]:
    return [row for page in hook.iter_pages(entity_set, select=select, **options) for row in page]


def record_counts(harness) -> dict[str, int]:
    return {
        "accounts": len(all_rows(harness.crm, "accounts", ["accountid"])),
        "customers": len(all_rows(harness.bc, "customers", ["id"])),
    }


def failed_in_a_load(error: BaseException) -> bool:
    return any(
        frame.filename.replace("\\", "/").endswith("pipeline/load.py")
        for frame in traceback.extract_tb(error.__traceback__)
    )


def check_counters(harness, summary: dict[str, Any], *, scheduled: bool, job: str = "CUSTOMER") -> None:
    """(d) the summary is the job log; Failed is the errors logged by that job; no insert if scheduled."""
    run_id = harness.last_runs[job].run_id
    jobs = harness.store.jobs(job)
    errors = harness.store.open_errors(job)
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


def stable_pairs(harness) -> pd.DataFrame:
    """CUSTOMER's coupled pairs in BC number order: the same pairs every time (created ids are random)."""
    couplings = harness.store.couplings("CUSTOMER")
    numbers = {row["id"]: row["number"] for row in all_rows(harness.bc, "customers", ["id", "number"])}
    pairs = couplings[~couplings["skipped"]].assign(number=lambda frame: frame["bc_id"].map(numbers))
    return pairs.sort_values("number")


def edit_both_sides(harness, chosen: pd.DataFrame, tag: str) -> list[Edit]:
    """Phone and city changed on the first half of `chosen` in BC, on the rest in Sales by a user."""
    edits: list[Edit] = []
    half = (len(chosen) + 1) // 2
    for index, pair in enumerate(chosen.head(half).itertuples()):
        phone, city = f"+1 425 555 {tag}{index}01", f"Faultville {tag}{index}"
        harness.bc_edit("customers", pair.bc_id, {"phoneNumber": phone, "city": city})
        edits += [("bc", pair.bc_id, "phoneNumber", phone), ("bc", pair.bc_id, "city", city)]
    for index, pair in enumerate(chosen.iloc[half:].itertuples()):
        phone, city = f"+1 206 555 {tag}{index}02", f"Salestown {tag}{index}"
        harness.sales_user_edit("account", pair.crm_id, {"telephone1": phone, "address1_city": city})
        edits += [("crm", pair.crm_id, "phoneNumber", phone), ("crm", pair.crm_id, "city", city)]
    return edits


def sales_user_patch(harness, entity_set: str, key: str, values: dict[str, Any]) -> None:
    """An edit in Sales by a human Sales user: the Web API with Dataverse's impersonation header
    (`MSCRMCallerID`), so the row's `modifiedby` is that user, not bcsync's application user."""
    users = harness.crm.get_conn().get_json(
        "systemusers?$select=systemuserid&$filter=applicationid eq null and isdisabled eq false"
        "&$orderby=fullname"
    )["value"]
    me = harness.crm.whoami()["UserId"].lower()
    user = next(u["systemuserid"] for u in users if u["systemuserid"].lower() != me)
    harness.crm.get_conn().request(
        "PATCH", f"{entity_set}({key})", json=values, headers={"MSCRMCallerID": user, "If-Match": "*"}
    )
