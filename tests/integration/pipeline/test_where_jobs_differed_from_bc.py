"""Where the default jobs used to differ from BC (issue 12), each through the real path: the local
services, the coupling store and every step of the job."""

from __future__ import annotations

import pandas as pd
import pytest
from test_sync_semantics import (
    FROM_CRM,
    TO_CRM,
    full_sync_dependencies,
    fully_synced_pair,
    sales_currency_id,
)

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
    # Alone, the stranger fails the run before anything is written, naming it.
    with pytest.raises(UnknownRecords) as refused:
        harness.run("CURRENCY", RunKind.RECORDS, record_ids=(customer,))
    assert str(refused.value) == (
        f"Synchronize Now: {customer} is not the id of a Currency in Business Central (the tables of "
        "CURRENCY); nothing was synchronized."
    )
    assert harness.store.couplings("CURRENCY").empty

    # With a currency that exists, the run goes on for it and the stranger fails alone, named.
    summary = harness.run("CURRENCY", RunKind.RECORDS, record_ids=(euro, customer))
    assert harness.counters(summary, "ToIntegrationTable")["Failed"] == 1
    messages = harness.store.open_errors("CURRENCY")["message"]  # one per run that named it
    assert len(messages) == 2 and all(customer in message for message in messages)


def rename_sales_cad(harness) -> tuple[str, str]:
    """A Sales user renames the Sales currency CAD; returns its id and BC's name of CAD."""
    bc_name = next(
        row["displayName"]
        for page in harness.bc.iter_pages("currencies", select=["code", "displayName"])
        for row in page
        if row["code"] == "CAD"
    )
    sales_cad = sales_currency_id(harness, "CAD")
    harness.sales_user_edit("transactioncurrency", sales_cad, {"currencyname": "Loonie (renamed)"})
    return sales_cad, bc_name


def sales_currency_name(harness, currency_id: str) -> str:
    return harness.crm.get("transactioncurrencies", currency_id, select=["currencyname"])["currencyname"]


def test_pairs_coupled_by_matching_are_each_written_and_counted_modified_after_bulk_coupling(harness):
    # CURRENCY sets "Synch. After Bulk Coupling": BC's follow-up job writes every pair it coupled
    # (ForceModify), so each counts Modified; here in the same run and job row as the coupling.
    sales_cad, bc_name = rename_sales_cad(harness)

    summary = harness.run("CURRENCY", RunKind.FULL)

    counters = harness.counters(summary, TO_CRM)
    matched = harness.store.couplings("CURRENCY").query("coupled_by == 'match'")
    assert counters["Coupled"] == len(matched) > 1
    assert counters["Modified"] == counters["Coupled"]
    assert sales_currency_name(harness, sales_cad) == bc_name
    again = harness.counters(harness.run("CURRENCY"), TO_CRM)
    assert again["Modified"] == again["Failed"] == 0, "written once, then in step"


def test_pairs_coupled_by_matching_keep_their_values_without_bulk_coupling_sync(harness):
    harness.override_mapping("CURRENCY", coupling={"synch_after_bulk_coupling": False})
    sales_cad, _ = rename_sales_cad(harness)

    summary = harness.run("CURRENCY", RunKind.FULL)

    counters = harness.counters(summary, TO_CRM)
    assert counters["Coupled"] > 1 and counters["Modified"] == 0
    assert sales_currency_name(harness, sales_cad) == "Loonie (renamed)"
    assert sales_cad in set(harness.store.couplings("CURRENCY")["crm_id"])


def test_bidirectional_pairs_synchronized_after_bulk_coupling_take_bcs_values_without_conflicts(harness):
    # Under update-conflict resolution None, BC's follow-up job runs To first: BC's values win, and the
    # From pass finds the pairs in step (not a conflict on every bidirectional field that differs).
    harness.override_mapping("CUSTOMER", coupling={"synch_after_bulk_coupling": True})
    full_sync_dependencies(harness)
    summary = harness.run("CUSTOMER", RunKind.FULL)

    to_crm, from_crm = harness.counters(summary, TO_CRM), harness.counters(summary, FROM_CRM)
    matched = harness.store.couplings("CUSTOMER").query("coupled_by == 'match'")
    assert to_crm["Coupled"] == len(matched) > 0
    assert from_crm["Failed"] == from_crm["Modified"] == 0
    # Every matched pair was written with BC's values (a pair whose customer failed excepted).
    written = matched[matched["to_crm_result"] == "Success"]
    assert to_crm["Modified"] == len(written) > 0
    for pair in written.itertuples():
        phone = harness.bc.get("customers", pair.bc_id, select=["phoneNumber"])["phoneNumber"]
        assert harness.crm.get("accounts", pair.crm_id, select=["telephone1"])["telephone1"] == (
            phone or None
        )


def customers_created_from_sales(harness) -> pd.DataFrame:
    couplings = harness.store.couplings("CUSTOMER")
    return couplings[(couplings["coupled_by"] == "create") & (couplings["from_crm_result"] == "Success")]


def test_customers_created_from_sales_get_the_values_of_bcs_table_config_template(harness):
    # CUSTOMER's "Table Config Template Code" BCICUST is kept in BC (Payment Terms 30 DAYS, Shipment
    # Method EXW in the local BC); BC applies it to every customer it creates from an account.
    full_sync_dependencies(harness)
    summary = harness.run("CUSTOMER", RunKind.FULL)

    created = customers_created_from_sales(harness)
    assert harness.counters(summary, FROM_CRM)["Inserted"] == len(created) > 0
    for bc_id in created["bc_id"]:
        customer = harness.bc.get(
            "customers", bc_id, select=["paymentTermsCode", "shipmentMethodCode"], api="custom"
        )
        assert (customer["paymentTermsCode"], customer["shipmentMethodCode"]) == ("30 DAYS", "EXW")
    # Customers BC sent to Sales were not created from Sales: the template is not theirs.
    sent = harness.store.couplings("CUSTOMER").query("coupled_by == 'create' and to_crm_result == 'Success'")
    terms = {
        harness.bc.get("customers", bc_id, select=["paymentTermsCode"], api="custom")["paymentTermsCode"]
        for bc_id in sent["bc_id"]
    }
    assert terms - {"30 DAYS"}, "the seed's own customers keep their terms"


def test_a_table_config_template_bc_does_not_have_fails_the_records_with_bcs_message(harness):
    harness.override_mapping("CUSTOMER", table_config_template={"code": "NOSUCH"})
    full_sync_dependencies(harness)
    before = len(list(r for page in harness.bc.iter_pages("customers", select=["id"]) for r in page))

    summary = harness.run("CUSTOMER", RunKind.FULL)

    from_crm = harness.counters(summary, FROM_CRM)
    assert from_crm["Inserted"] == 0 and from_crm["Failed"] > 0
    messages = harness.store.open_errors("CUSTOMER").query("direction == @FROM_CRM")["message"]
    assert set(messages) == {"The Config. Template Header NOSUCH was not found."}
    assert len(messages) == from_crm["Failed"]
    assert customers_created_from_sales(harness).empty, "nothing coupled"
    after = len(list(r for page in harness.bc.iter_pages("customers", select=["id"]) for r in page))
    assert after == before, "no customer created (BC would have left one uncoupled)"
