"""BC's synchronization semantics, end to end: local services over HTTPS, SQLite store, every step.

Each test starts from the seed (some records on both sides, some on one side only) and runs jobs the
way their DAGs do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.extract import extract
from bcsync.pipeline.record import record_job
from bcsync.pipeline.staging import run_folder
from bcsync.wire.errors import OutcomeUnknown

TO_CRM, FROM_CRM = "ToIntegrationTable", "FromIntegrationTable"


def full_sync_dependencies(harness) -> None:
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)


def bc_customers(harness) -> pd.DataFrame:
    rows = [
        r
        for page in harness.bc.iter_pages("customers", select=["id", "displayName", "blocked"])
        for r in page
    ]
    return pd.DataFrame(rows)


def accounts(harness) -> pd.DataFrame:
    rows = [
        r
        for page in harness.crm.iter_pages("accounts", select=["accountid", "name", "telephone1"])
        for r in page
    ]
    return pd.DataFrame(rows)


def sales_currency_id(harness, iso_code: str) -> str:
    return next(
        row["transactioncurrencyid"]
        for page in harness.crm.iter_pages(
            "transactioncurrencies", select=["transactioncurrencyid", "isocurrencycode"]
        )
        for row in page
        if row["isocurrencycode"] == iso_code
    )


def coupled_pair(harness, job: str = "CUSTOMER") -> pd.Series:
    """A pair created BC → Sales: its lookups (salesperson, currency) are known to resolve."""
    couplings = harness.store.couplings(job)
    healthy = couplings[
        ~couplings["skipped"]
        & (couplings["coupled_by"] == "create")
        & (couplings["to_crm_result"] == "Success")
        & couplings["from_crm_result"].isna()
    ]
    return healthy.sort_values("bc_id").iloc[0]


def fully_synced_pair(harness) -> pd.Series:
    """Fully synchronize the dependencies, then CUSTOMER; return a pair that run created."""
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    return coupled_pair(harness)


def change_a_customer_whose_account_was_deleted(harness, phone: str) -> tuple[pd.Series, dict]:
    """Delete a synchronized pair's account in Sales, change its customer in BC and run CUSTOMER."""
    pair = fully_synced_pair(harness)
    harness.crm.delete("accounts", pair["crm_id"])
    harness.bc_edit("customers", pair["bc_id"], {"phoneNumber": phone})
    return pair, harness.run("CUSTOMER")


def salespeople_without_a_sales_user(harness) -> Iterator[dict]:
    """BC salespeople with an email whom SALESPEOPLE has not coupled to a Sales user (yet)."""
    coupled_users = set(harness.store.couplings("SALESPEOPLE")["bc_id"])
    return (
        r
        for page in harness.bc.iter_pages(
            "salespeoplePurchasers", select=["id", "code", "displayName", "email"]
        )
        for r in page
        if r["id"] not in coupled_users and r["email"]
    )


def fail_a_coupled_customer(harness) -> tuple[pd.Series, dict]:
    """Give a coupled customer a salesperson with no Sales user; a scheduled run fails it."""
    person = next(salespeople_without_a_sales_user(harness))
    pair = coupled_pair(harness)
    harness.bc_edit(
        "customers", pair["bc_id"], {"salespersonCode": person["code"], "phoneNumber": "+1 425 555 0177"}
    )
    failed = harness.run("CUSTOMER")
    assert harness.counters(failed, TO_CRM)["Failed"] == 1
    return pair, person


def test_full_sync_couples_shared_customers_by_matching_and_creates_the_rest(harness):
    full_sync_dependencies(harness)
    accounts_before = accounts(harness)
    summary = harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    counters = harness.counters(summary, TO_CRM)

    unblocked = bc_customers(harness).query("blocked == ' '")
    assert counters["Inserted"] + counters["Unchanged"] + counters["Failed"] == len(unblocked)
    couplings = harness.store.couplings("CUSTOMER")
    matched = couplings[couplings["coupled_by"] == "match"]
    assert len(matched) == counters["Unchanged"] == counters["Coupled"] > 0  # coupling alone moves no data
    assert (couplings["coupled_by"] == "create").sum() == counters["Inserted"] > 0
    names = accounts_before.set_index("accountid")["name"]
    by_id = unblocked.set_index("id")["displayName"]
    for pair in matched.itertuples():
        assert by_id[pair.bc_id].casefold() == names[pair.crm_id].strip().casefold()
    # Every account created is new: none of the accounts that existed before was written twice.
    assert len(accounts(harness)) == len(accounts_before) + counters["Inserted"]


def test_customer_matching_two_accounts_is_not_coupled_to_either(harness):
    full_sync_dependencies(harness)
    customer = next(
        r
        for page in harness.bc.iter_pages("customers", select=["id", "displayName", "city", "email"])
        for r in page
        if r["displayName"] not in set(accounts(harness)["name"])
    )
    twins = [
        harness.crm.create(
            "accounts",
            {
                "name": customer["displayName"],
                "address1_city": customer["city"],
                "emailaddress1": customer["email"],
                "customertypecode": 3,
            },
        )
        for _ in range(2)
    ]
    harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    couplings = harness.store.couplings("CUSTOMER")
    coupled_to = couplings.loc[couplings["bc_id"] == customer["id"]]
    assert not set(coupled_to["crm_id"]) & set(twins)
    assert set(coupled_to["coupled_by"]) <= {"create"}  # unmatched, so the full sync created its account


def test_scheduled_run_updates_a_changed_customer_and_leaves_the_rest_alone(harness):
    pair = fully_synced_pair(harness)
    harness.bc_edit("customers", pair["bc_id"], {"phoneNumber": "+1 425 555 0142"})

    summary = harness.run("CUSTOMER")
    assert harness.counters(summary, TO_CRM)["Modified"] == 1
    assert (
        harness.crm.get("accounts", pair["crm_id"], select=["telephone1"])["telephone1"] == "+1 425 555 0142"
    )

    again = harness.run("CUSTOMER")
    assert harness.counters(again, TO_CRM)["Modified"] == 0
    assert harness.counters(again, FROM_CRM)["Modified"] == 0, "our own write must not come back"


def test_change_made_in_sales_flows_to_business_central(harness):
    pair = fully_synced_pair(harness)
    harness.sales_user_edit("account", pair["crm_id"], {"address1_city": "Redmond"})

    summary = harness.run("CUSTOMER")
    assert harness.counters(summary, FROM_CRM)["Modified"] == 1
    assert harness.bc.get("customers", pair["bc_id"], select=["city"])["city"] == "Redmond"
    assert harness.counters(harness.run("CUSTOMER"), TO_CRM)["Modified"] == 0


def test_both_sides_changed_fails_then_is_skipped_after_the_same_error_twice(harness):
    pair = fully_synced_pair(harness)
    harness.bc_edit("customers", pair["bc_id"], {"city": "Boston"})
    harness.sales_user_edit("account", pair["crm_id"], {"address1_city": "Chicago"})

    first = harness.run("CUSTOMER")
    assert harness.counters(first, TO_CRM)["Failed"] == 1
    errors = harness.store.open_errors("CUSTOMER")
    assert "bi-directional, and one or both values have changed" in errors["message"].iloc[-1]

    second = harness.run("CUSTOMER")  # retried although unchanged since: same error again → Skipped
    assert harness.counters(second, TO_CRM)["Skipped"] == 1
    skipped = harness.store.skipped("CUSTOMER")
    assert pair["bc_id"] in set(skipped["bc_id"])
    assert harness.crm.get("accounts", pair["crm_id"], select=["address1_city"])["address1_city"] == "Chicago"


def test_coupled_record_deleted_on_the_other_side_fails_with_bcs_message(harness):
    _, summary = change_a_customer_whose_account_was_deleted(harness, "+1 425 555 0100")
    assert harness.counters(summary, TO_CRM)["Failed"] == 1
    message = harness.store.open_errors("CUSTOMER")["message"].iloc[-1]
    assert message == "The Customer record cannot be updated because it is coupled to a deleted record."


def test_scheduled_runs_do_not_create_uncoupled_records(harness):
    full_sync_dependencies(harness)
    before = len(accounts(harness))
    summary = harness.run("CUSTOMER")  # only coupled records: there are none yet
    assert harness.counters(summary, TO_CRM)["Inserted"] == 0
    assert len(accounts(harness)) == before


def test_customer_with_uncoupled_salesperson_fails_with_must_be_coupled(harness):
    full_sync_dependencies(harness)
    summary = harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    assert harness.counters(summary, TO_CRM)["Failed"] > 0
    messages = set(harness.store.open_errors("CUSTOMER")["message"])
    assert any(
        m.startswith("Salesperson/Purchaser ")
        and m.endswith("must be coupled to a record in Dynamics 365 Sales.")
        for m in messages
    )


def test_blank_currency_code_is_the_base_currency_in_sales(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    usd = sales_currency_id(harness, "USD")
    couplings = harness.store.couplings("CUSTOMER")
    created = couplings[couplings["coupled_by"] == "create"]
    blank = [
        pair.crm_id
        for pair in created.itertuples()
        if not harness.bc.get("customers", pair.bc_id, select=["currencyCode"])["currencyCode"]
    ]
    assert blank, "the seed has customers in the local currency"
    for account_id in blank:
        row = harness.crm.get("accounts", account_id, select=["_transactioncurrencyid_value"])
        assert row["_transactioncurrencyid_value"] == usd


def test_watermark_only_moves_forward_and_never_past_the_read_start(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    first = harness.store.get_watermark("CUSTOMER", TO_CRM)
    assert first is not None
    summary = harness.run("CUSTOMER")
    assert harness.store.get_watermark("CUSTOMER", TO_CRM) >= first
    jobs = harness.store.jobs("CUSTOMER")
    assert harness.store.get_watermark("CUSTOMER", TO_CRM) <= jobs["started_on"].max()
    assert summary["directions"][TO_CRM]["Failed"] == 0


def test_a_bc_read_that_finds_nothing_does_not_ask_the_custom_page(harness):
    """CUSTOMER's fields on our custom API page are read with the same filter once the standard page
    has rows: an extract that finds no changed customer makes one request, not two."""
    mapping = harness.services.registry.get("CUSTOMER")
    run = RunContext(dag_id=mapping.dag_id, run_id="nothing_changed", kind=RunKind.SCHEDULED)
    after_everything = datetime.now(UTC) + timedelta(days=1)
    harness.store.advance_watermark("CUSTOMER", TO_CRM, after_everything, not_after=after_everything)
    harness.sandbox.admin("bc", "POST", "stats/reset")
    folder = run_folder(run.dag_id, run.run_id, mapping.name, harness.staging)
    result = extract(mapping, Side.BC, run, harness.services, folder)
    routes = harness.sandbox.admin("bc", "GET", "stats")["by_route"]
    assert result.rows == 0
    assert [route for route in routes if route.endswith("/customers")] == [
        "GET /v2.0/{id}/production/api/v2.0/companies({key})/customers"
    ], routes


def test_a_run_of_unchanged_records_reads_no_lookup_table_and_no_metadata(harness):
    """Lookups and field lengths serve only records whose values are transferred: a run whose
    candidates are all unchanged since their last synchronization (Sales' look-back re-reads its
    newest account) counts them Unchanged without reading either."""
    fully_synced_pair(harness)
    harness.run("CUSTOMER")  # reads back once the BC customers the full sync created
    for service in ("bc", "dataverse"):
        harness.sandbox.admin(service, "POST", "stats/reset")
    summary = harness.run("CUSTOMER")
    stats = [harness.sandbox.admin(service, "GET", "stats") for service in ("bc", "dataverse")]
    routes = [route for answered in stats for route in answered["by_route"]]
    counters = summary["directions"]
    assert counters[FROM_CRM]["Unchanged"] >= 1, counters
    assert all(counters[d][c] == 0 for d in (TO_CRM, FROM_CRM) for c in ("Inserted", "Modified", "Failed"))
    lookups_and_metadata = ("$metadata", "currencies", "salespeoplePurchasers", "transactioncurrencies")
    assert not [route for route in routes if route.endswith(lookups_and_metadata)], routes


def test_dry_run_plans_but_writes_nothing(harness):
    full_sync_dependencies(harness)
    before = len(accounts(harness))
    summary = harness.run("CUSTOMER", RunKind.FULL, dry_run=True)
    assert summary["dry_run"]
    planned = summary["directions"][TO_CRM]
    assert planned["Inserted"] > 0 and planned["Unchanged"] > 0  # matched pairs are planned as coupled
    assert len(accounts(harness)) == before
    assert harness.store.couplings("CUSTOMER").empty
    assert harness.store.get_watermark("CUSTOMER", TO_CRM) is None


def test_create_retried_after_a_dropped_connection_makes_no_duplicate(harness):
    full_sync_dependencies(harness)
    harness.sandbox.admin(
        "dataverse",
        "POST",
        "faults",
        json={
            "rules": [
                {
                    "method": "POST",
                    "path": "accounts/Microsoft.Dynamics.CRM.UpsertMultiple",
                    "fault": "drop_after_commit",
                    "count": 1,
                }
            ]
        },
    )
    before = len(accounts(harness))
    summary = harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    inserted = harness.counters(summary, TO_CRM)["Inserted"]
    assert len(accounts(harness)) == before + inserted
    stats = harness.sandbox.admin("dataverse", "GET", "stats")
    assert "dropped" in str(stats)


def test_bc_create_whose_answer_was_lost_is_found_not_created_again(harness):
    full_sync_dependencies(harness)
    harness.sandbox.admin(
        "bc",
        "POST",
        "faults",
        json={"rules": [{"method": "POST", "path": r"\$batch", "fault": "drop_after_commit", "count": 1}]},
    )
    before = len(bc_customers(harness))
    with pytest.raises(OutcomeUnknown):
        harness.run("CUSTOMER", RunKind.FULL, direction=FROM_CRM)
    committed = len(bc_customers(harness)) - before
    assert committed > 0, "the dropped batch was applied by BC"

    result = harness.retry_load("CUSTOMER", Side.BC)  # Airflow retries the load task: same run, same plan
    couplings = harness.store.couplings("CUSTOMER")
    created = (couplings["coupled_by"] == "create").sum()
    assert created == result.counters.inserted > 0
    assert len(bc_customers(harness)) == before + created, "nothing was created twice"
    assert harness.store.list_pending("CUSTOMER", FROM_CRM).empty
    assert result.failed == 0


def test_contact_created_in_sales_gets_its_customers_account_as_parent(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    summary = harness.run("CONTACT", RunKind.FULL, direction=TO_CRM)
    assert harness.counters(summary, TO_CRM)["Inserted"] > 0
    couplings = harness.store.couplings("CONTACT")
    customer_accounts = set(harness.store.couplings("CUSTOMER")["crm_id"])
    for pair in couplings[couplings["coupled_by"] == "create"].itertuples():
        contact = harness.crm.get("contacts", pair.crm_id, select=["_parentcustomerid_value"])
        assert contact["_parentcustomerid_value"] in customer_accounts


def test_contact_from_sales_belongs_to_the_company_of_its_accounts_customer(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    harness.run("CONTACT", RunKind.FULL, direction=FROM_CRM)
    couplings = harness.store.couplings("CONTACT")
    created = couplings[couplings["coupled_by"] == "create"]
    assert len(created) > 0
    for pair in created.itertuples():
        contact = harness.bc.get("contacts", pair.bc_id, select=["companyNumber", "type"])
        assert contact["type"] == "Person" and contact["companyNumber"]


def test_update_conflict_resolved_in_favour_of_bc_when_configured(harness):
    harness.override_mapping("CUSTOMER", update_conflict_resolution="Send Update to Integration")
    pair = fully_synced_pair(harness)
    harness.bc_edit("customers", pair["bc_id"], {"city": "Boston"})
    harness.sales_user_edit("account", pair["crm_id"], {"address1_city": "Chicago"})

    summary = harness.run("CUSTOMER")
    assert harness.counters(summary, TO_CRM)["Modified"] == 1
    assert harness.counters(summary, FROM_CRM)["Skipped"] == 1
    assert harness.crm.get("accounts", pair["crm_id"], select=["address1_city"])["address1_city"] == "Boston"
    assert harness.bc.get("customers", pair["bc_id"], select=["city"])["city"] == "Boston"


def test_deleted_counterpart_is_restored_when_configured(harness):
    harness.override_mapping("CUSTOMER", deletion_conflict_resolution="Restore Records")
    pair, summary = change_a_customer_whose_account_was_deleted(harness, "+1 425 555 0101")
    assert harness.counters(summary, TO_CRM)["Inserted"] == 1
    coupling = harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).iloc[0]
    assert coupling["crm_id"] != pair["crm_id"]
    restored = harness.crm.get("accounts", coupling["crm_id"], select=["telephone1"])
    assert restored["telephone1"] == "+1 425 555 0101"


def test_deleted_counterpart_is_uncoupled_when_configured(harness):
    harness.override_mapping("CUSTOMER", deletion_conflict_resolution="Remove Coupling")
    pair, summary = change_a_customer_whose_account_was_deleted(harness, "+1 425 555 0102")
    counters = harness.counters(summary, TO_CRM)
    assert counters["Failed"] == counters["Inserted"] == 0
    assert harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).empty


def test_blocked_customers_are_outside_the_table_filter(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    blocked = set(bc_customers(harness).query("blocked != ' '")["id"])
    assert blocked, "the seed has a blocked customer"
    assert not blocked & set(harness.store.couplings("CUSTOMER")["bc_id"])


def test_primary_contact_not_yet_coupled_is_cleared_rather_than_failing(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)  # CONTACT has not run: no contact is coupled
    messages = set(harness.store.open_errors("CUSTOMER")["message"])
    assert not any("Contact" in m and "must be coupled" in m for m in messages)
    created = harness.store.couplings("CUSTOMER").query("coupled_by == 'create'")
    row = harness.crm.get("accounts", created.iloc[0]["crm_id"], select=["_primarycontactid_value"])
    assert row["_primarycontactid_value"] is None


def test_synchronize_now_rewrites_the_given_record_even_if_unchanged(harness):
    pair = fully_synced_pair(harness)
    harness.sales_user_edit("account", pair["crm_id"], {"telephone1": "999"})  # Sales drifted
    summary = harness.run("CUSTOMER", RunKind.RECORDS, record_ids=(pair["bc_id"],), direction=TO_CRM)
    assert harness.counters(summary, TO_CRM)["Modified"] == 1
    bc_phone = harness.bc.get("customers", pair["bc_id"], select=["phoneNumber"])["phoneNumber"]
    assert harness.crm.get("accounts", pair["crm_id"], select=["telephone1"])["telephone1"] == bc_phone


def test_a_failed_load_keeps_the_watermark_and_logs_the_job_with_the_reason(harness):
    mapping = harness.services.registry.get("CURRENCY")
    run = RunContext(dag_id=mapping.dag_id, run_id="load_crashed", kind=RunKind.FULL)
    folder = run_folder(run.dag_id, run.run_id, mapping.name, harness.staging)
    extracts = {side: extract(mapping, side, run, harness.services, folder) for side in Side}
    job = record_job(mapping, run, harness.services, extracts, loads={})  # the load task never succeeded
    assert job.directions[TO_CRM].load_failed
    assert harness.store.get_watermark("CURRENCY", TO_CRM) is None
    job = harness.store.jobs("CURRENCY").iloc[0]
    assert "load task failed" in job["message"]


def test_record_that_failed_last_time_is_retried_although_it_did_not_change(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    pair, person = fail_a_coupled_customer(harness)

    # The Sales administrator adds the user and SALESPEOPLE couples it; the customer is not touched.
    harness.add_sales_users([person])
    harness.run("SALESPEOPLE", RunKind.FULL)
    retried = harness.run("CUSTOMER")
    assert harness.counters(retried, TO_CRM)["Modified"] == 1
    assert (
        harness.crm.get("accounts", pair["crm_id"], select=["telephone1"])["telephone1"] == "+1 425 555 0177"
    )


def test_clearing_a_failed_load_retries_exactly_what_failed_with_fresh_data(harness):
    full_sync_dependencies(harness)
    first = harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    failed_before = harness.counters(first, TO_CRM)["Failed"]
    assert failed_before > 0  # customers whose salesperson has no Sales user yet
    inserted_before = harness.counters(first, TO_CRM)["Inserted"]
    upserts_before = _upsert_requests(harness)

    # The administrator gives every such salesperson a Sales user; SALESPEOPLE couples them.
    harness.add_sales_users(salespeople_without_a_sales_user(harness))
    harness.run("SALESPEOPLE", RunKind.FULL)
    result = harness.retry_load("CUSTOMER", Side.CRM)  # the user clears the failed load_crm task

    assert result.failed == 0
    assert result.counters.inserted == inserted_before + failed_before  # the whole run's job counters
    # Only the records that had failed were written again.
    assert _upsert_requests(harness) - upserts_before == 1


def _upsert_requests(harness) -> int:
    stats = harness.sandbox.admin("dataverse", "GET", "stats")
    return sum(count for key, count in _flatten(stats) if "UpsertMultiple" in key)


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}{key} ")
    elif isinstance(value, int):
        yield prefix, value


def test_backfill_resyncs_what_changed_inside_its_interval_and_leaves_the_watermark(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    failing, _ = fail_a_coupled_customer(harness)
    watermark = harness.store.get_watermark("CUSTOMER", TO_CRM)
    pair = coupled_pair(harness)
    assert pair["bc_id"] != failing["bc_id"]
    before_change = datetime.now(UTC) - timedelta(seconds=2)
    harness.bc_edit("customers", pair["bc_id"], {"phoneNumber": "+1 425 555 0133"})
    after_change = datetime.now(UTC) + timedelta(seconds=2)

    earlier = harness.run(
        "CUSTOMER",
        RunKind.BACKFILL,
        data_interval_start=before_change - timedelta(hours=1),
        data_interval_end=before_change - timedelta(minutes=30),
    )
    assert harness.counters(earlier, TO_CRM)["Modified"] == 0
    # The customer that failed last time is retried by the scheduled runs, not by every backfill run.
    assert harness.counters(earlier, TO_CRM)["Failed"] == 0

    covering = harness.run(
        "CUSTOMER", RunKind.BACKFILL, data_interval_start=before_change, data_interval_end=after_change
    )
    assert harness.counters(covering, TO_CRM)["Modified"] == 1
    assert (
        harness.crm.get("accounts", pair["crm_id"], select=["telephone1"])["telephone1"] == "+1 425 555 0133"
    )
    assert harness.store.get_watermark("CUSTOMER", TO_CRM) == watermark

    again = harness.run(  # the same interval once more: idempotent
        "CUSTOMER", RunKind.BACKFILL, data_interval_start=before_change, data_interval_end=after_change
    )
    assert harness.counters(again, TO_CRM)["Modified"] == 0
