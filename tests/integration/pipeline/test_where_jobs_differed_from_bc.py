"""Where the default jobs used to differ from BC (issue 12), each through the real path: the local
services, the coupling store and every step of the job."""

from __future__ import annotations

import pandas as pd
import pytest
from test_sync_semantics import FROM_CRM, TO_CRM, full_sync_dependencies, fully_synced_pair

from bcsync.engine.model import COUNTER_NAMES, JOB_LOG_COUNTERS
from bcsync.pipeline.context import RunKind
from bcsync.pipeline.extract import UnknownRecords


def account_owner(harness, account_id: str) -> str:
    return harness.crm.get("accounts", account_id, select=["_ownerid_value"])["_ownerid_value"]


def test_blank_salesperson_code_leaves_the_accounts_owner_as_it_is(harness):
    # BC's "Not Null" on Salesperson Code → ownerid: a blank code gives a null owner, which is not
    # transferred; the rest of the customer is synchronized.
    pair = fully_synced_pair(harness)
    owner = account_owner(harness, pair["crm_id"])
    assert owner, "the account got the salesperson's Sales user as its owner"
    harness.bc_edit("customers", pair["bc_id"], {"salespersonCode": "", "phoneNumber": "+1 425 555 0190"})

    summary = harness.run("CUSTOMER")

    assert harness.counters(summary, TO_CRM)["Modified"] == 1
    assert harness.counters(summary, TO_CRM)["Failed"] == 0
    account = harness.crm.get("accounts", pair["crm_id"], select=["telephone1", "_ownerid_value"])
    assert account == {**account, "telephone1": "+1 425 555 0190", "_ownerid_value": owner}
    assert pair["bc_id"] not in set(harness.store.open_errors("CUSTOMER")["bc_id"])


def pairs_created_in_a_full_sync(harness, count: int) -> pd.DataFrame:
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    couplings = harness.store.couplings("CUSTOMER")
    created = couplings[(couplings["coupled_by"] == "create") & (couplings["to_crm_result"] == "Success")]
    return created.sort_values("bc_id").head(count)


def test_records_failing_twice_the_same_way_are_skipped_in_both_passes_of_the_run(harness):
    # Both sides of two pairs change the City: each pass fails them with BC's conflict message. The
    # next run fails them the same way in the To pass, which marks them Skipped; BC's From pass then
    # finds the couplings Skipped and counts them Skipped too (§1.3, §3.2): Skipped 2, Failed 0 in both.
    pairs = pairs_created_in_a_full_sync(harness, 2)
    for number, pair in enumerate(pairs.itertuples()):
        harness.bc_edit("customers", pair.bc_id, {"city": f"Boston {number}"})
        harness.sales_user_edit("account", pair.crm_id, {"address1_city": f"Chicago {number}"})

    first = harness.run("CUSTOMER")
    assert harness.counters(first, TO_CRM)["Failed"] == harness.counters(first, FROM_CRM)["Failed"] == 2

    second = harness.run("CUSTOMER")
    for direction in (TO_CRM, FROM_CRM):
        counters = harness.counters(second, direction)
        assert (counters["Skipped"], counters["Failed"]) == (2, 0), direction
    assert set(harness.store.skipped("CUSTOMER")["bc_id"]) >= set(pairs["bc_id"])
    cities = {harness.bc.get("customers", bc_id, select=["city"])["city"] for bc_id in pairs["bc_id"]}
    assert cities == {"Boston 0", "Boston 1"}, "neither pass overwrote the other side"


def test_one_way_job_asked_for_the_other_direction_records_bcs_message_and_writes_nothing(harness):
    for job, direction in (("SALESPEOPLE", TO_CRM), ("CURRENCY", FROM_CRM)):
        summary = harness.run(job, RunKind.FULL, direction=direction)

        assert summary["directions"] == {
            direction: {"status": "not configured", **dict.fromkeys(COUNTER_NAMES, 0)}
        }
        jobs = harness.store.jobs(job)
        assert jobs[["direction", "message"]].values.tolist() == [
            [
                direction,
                f"The Integration Table Mapping {job} is not configured for {direction} synchronization.",
            ]
        ]
        assert jobs[[name.lower() for name in JOB_LOG_COUNTERS]].iloc[0].tolist() == [0] * 6
        assert harness.store.couplings(job).empty
    for service in ("bc", "dataverse"):
        methods = set(harness.sandbox.admin(service, "GET", "stats")["by_method"])
        assert methods <= {"GET"}, f"{service} was written to: {methods}"


def test_synchronize_now_with_the_id_of_another_tables_record_fails_naming_it(harness):
    customer = next(harness.bc.iter_pages("customers", select=["id"]))[0]["id"]
    euro = next(
        row["id"]
        for page in harness.bc.iter_pages("currencies", select=["id", "code"])
        for row in page
        if row["code"] == "EUR"
    )
    with pytest.raises(UnknownRecords) as refused:
        harness.run("CURRENCY", RunKind.RECORDS, record_ids=(euro, customer))
    assert str(refused.value) == (
        f"Synchronize Now: {customer} is not the id of a Currency in Business Central (the tables of "
        "CURRENCY); nothing was synchronized."
    )
    assert harness.store.couplings("CURRENCY").empty, "not even the currency that exists"
