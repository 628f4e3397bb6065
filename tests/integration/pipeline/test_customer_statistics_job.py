"""BC's Customer Statistics job (codeunit 5350) through the real path: the customers' figures on the local
BC's statistics page → each coupled account's nav_accountstatistics row, created, linked, updated
(CUSTOMER STATISTICS); the coupled posted invoices' payment status → their Sales invoices' state
(INVOICE PAYMENT STATUS)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd

from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.runner import run_job
from tests.sandbox_data import bc_rows, bc_update, dataverse_get, dataverse_rows

JOB = "CUSTOMER STATISTICS"
PAYMENT_STATUS = "INVOICE PAYMENT STATUS"
TO_CRM = "ToIntegrationTable"
FIGURES = {  # BC page property → nav_accountstatistics attribute
    "balanceLCY": "nav_balancelcy",
    "outstandingOrdersLCY": "nav_outstandingorderslcy",
    "shippedNotInvoicedLCY": "nav_shippednotinvoicedlcy",
    "outstandingInvoicesLCY": "nav_outstandinginvoiceslcy",
    "totalAmountLCY": "nav_totallcy",
    "overdueAmountsLCY": "nav_overdueamountslcy",
    "salesLCY": "nav_totalsaleslcy",
}


def customers_coupled(harness) -> pd.DataFrame:
    """Synchronize what CUSTOMER needs, then CUSTOMER itself: the seed's customers get their accounts."""
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)
    harness.run("CUSTOMER", RunKind.FULL)
    couplings = harness.store.couplings("CUSTOMER")
    return couplings[~couplings["skipped"].astype(bool)]


def statistics_of(harness, account_id: str) -> dict | None:
    account = dataverse_get(harness.sandbox, "account", account_id)
    link = account and account.get("_nav_accountstatisticsid_value")
    return dataverse_get(harness.sandbox, "nav_accountstatistics", link) if link else None


def customer(harness, bc_id: str) -> dict:
    return next(r for r in bc_rows(harness.sandbox, "customer") if r["id"] == bc_id)


def test_first_run_creates_and_links_statistics_for_every_coupled_customer(harness) -> None:
    coupled = customers_coupled(harness)
    assert len(coupled) >= 10
    all_bc = {r["id"] for r in bc_rows(harness.sandbox, "customer")}
    uncoupled = all_bc - set(coupled["bc_id"])
    assert uncoupled, "the seed has BC customers CUSTOMER does not couple (blocked ones)"

    summary = harness.run(JOB)

    counters = harness.counters(summary, TO_CRM)
    assert counters["Inserted"] == len(coupled)
    assert counters["Failed"] == 0 and counters["Modified"] == 0
    rows = dataverse_rows(harness.sandbox, "nav_accountstatistics")
    assert len(rows) == len(coupled)  # none for uncoupled customers
    for pair in coupled.itertuples():
        statistics = statistics_of(harness, pair.crm_id)
        figures = customer(harness, pair.bc_id)
        assert statistics is not None, f"account {pair.crm_id} has no statistics"
        assert statistics["nav_customerno"] == figures["number"]
        assert statistics["nav_name"] == figures["displayName"]
        assert statistics["nav_creditlimitlcy"] == figures["creditLimit"]
        for bc_field, crm_field in FIGURES.items():
            assert statistics[crm_field] == figures[bc_field], crm_field
    jobs = harness.store.jobs(JOB)
    assert jobs.iloc[0]["inserted"] == len(coupled)


def test_changed_figures_update_the_row_and_a_run_without_activity_writes_nothing(harness) -> None:
    coupled = customers_coupled(harness)
    harness.run(JOB)
    pair = coupled.iloc[0]
    before = statistics_of(harness, pair["crm_id"])

    quiet = harness.run(JOB)
    assert harness.counters(quiet, TO_CRM) == dict.fromkeys(
        ("Inserted", "Modified", "Deleted", "Unchanged", "Skipped", "Failed", "Coupled"), 0
    )
    assert statistics_of(harness, pair["crm_id"])["_version"] == before["_version"]

    # A payment is posted: the ledger changes, the customer record itself does not.
    kept = customer(harness, pair["bc_id"])["lastModifiedDateTime"]
    bc_update(
        harness.sandbox,
        "customer",
        pair["bc_id"],
        {
            "balanceLCY": Decimal("1234.56"),
            "lastActivityDateTime": datetime.now(UTC),
            "lastModifiedDateTime": kept,
        },
    )
    changed = harness.run(JOB)

    assert harness.counters(changed, TO_CRM)["Modified"] == 1
    assert harness.counters(changed, TO_CRM)["Inserted"] == 0
    after = statistics_of(harness, pair["crm_id"])
    assert after["nav_accountstatisticsid"] == before["nav_accountstatisticsid"]
    assert after["nav_balancelcy"] == Decimal("1234.56")
    assert len(dataverse_rows(harness.sandbox, "nav_accountstatistics")) == len(coupled)


def test_a_full_synchronization_compares_every_coupled_customer_and_writes_no_second_row(harness) -> None:
    coupled = customers_coupled(harness)
    harness.run(JOB)

    summary = harness.run(JOB, RunKind.FULL)

    counters = harness.counters(summary, TO_CRM)
    assert counters["Unchanged"] == len(coupled)
    assert counters["Inserted"] == counters["Modified"] == counters["Failed"] == 0
    assert len(dataverse_rows(harness.sandbox, "nav_accountstatistics")) == len(coupled)


def test_customer_sees_no_change_caused_by_statistics(harness) -> None:
    customers_coupled(harness)
    harness.run("CUSTOMER")  # settles what the full synchronization left to its next run
    watermarks = harness.store.watermarks("CUSTOMER")
    couplings = harness.store.couplings("CUSTOMER")

    harness.run(JOB)
    summary = harness.run("CUSTOMER")

    for direction in summary["directions"]:
        assert sum(harness.counters(summary, direction).values()) == 0, direction
    after = harness.store.couplings("CUSTOMER")
    columns = ["bc_id", "crm_id", "bc_synced_on", "skipped", "to_crm_result", "from_crm_result"]
    pd.testing.assert_frame_equal(
        after[columns].sort_values("bc_id").reset_index(drop=True),
        couplings[columns].sort_values("bc_id").reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(harness.store.watermarks("CUSTOMER"), watermarks)
    # As BC's ModifyCRMAccount: an account in step before the link is in step after it.
    for pair in after.itertuples():
        account = dataverse_get(harness.sandbox, "account", pair.crm_id)
        assert pair.crm_synced_on == account["modifiedon"], pair.crm_id


def test_a_customer_changed_in_bc_after_its_account_was_linked_is_no_conflict(harness) -> None:
    coupled = customers_coupled(harness)
    harness.run("CUSTOMER")
    harness.run(JOB)
    pair = coupled.iloc[0]

    harness.bc_edit("customers", pair["bc_id"], {"phoneNumber": "+1 425 555 0199"})
    summary = harness.run("CUSTOMER")

    assert harness.counters(summary, TO_CRM)["Modified"] == 1
    assert harness.counters(summary, TO_CRM)["Failed"] == 0
    account = dataverse_get(harness.sandbox, "account", pair["crm_id"])
    assert account["telephone1"] == "+1 425 555 0199"
    assert account["_nav_accountstatisticsid_value"] is not None


def test_an_account_already_linked_keeps_its_statistics_row(harness) -> None:
    coupled = customers_coupled(harness)
    pair = coupled.iloc[0]
    existing = harness.crm.create("nav_accountstatisticses", {"nav_name": "made in Sales"})
    harness.crm.update(
        "accounts",
        pair["crm_id"],
        {"nav_accountstatisticsid@odata.bind": f"/nav_accountstatisticses({existing})"},
    )

    summary = harness.run(JOB)

    counters = harness.counters(summary, TO_CRM)
    assert (counters["Inserted"], counters["Modified"]) == (len(coupled) - 1, 1)
    statistics = statistics_of(harness, pair["crm_id"])
    assert statistics["nav_accountstatisticsid"] == existing
    assert statistics["nav_customerno"] == customer(harness, pair["bc_id"])["number"]
    assert len(dataverse_rows(harness.sandbox, "nav_accountstatistics")) == len(coupled)


def test_a_customer_whose_account_is_gone_fails_alone_and_is_never_created_twice(harness) -> None:
    coupled = customers_coupled(harness)
    gone = coupled.iloc[0]
    harness.crm.delete("accounts", gone["crm_id"])

    first = harness.run(JOB)
    second = harness.run(JOB)

    assert harness.counters(first, TO_CRM)["Failed"] == 1
    assert harness.counters(first, TO_CRM)["Inserted"] == len(coupled) - 1
    assert harness.counters(second, TO_CRM)["Failed"] == 1
    assert harness.counters(second, TO_CRM)["Inserted"] == 0
    errors = harness.store.open_errors(JOB)
    assert set(errors["bc_id"]) == {gone["bc_id"]}
    assert set(errors["bc_number"]) == {customer(harness, gone["bc_id"])["number"]}
    assert "could not be linked" in errors["message"].iloc[-1]
    # The retry re-sent the journalled id: one row for the customer, not two.
    assert len(dataverse_rows(harness.sandbox, "nav_accountstatistics")) == len(coupled)


def run_payment_status(harness, run_id: str) -> dict:
    """The job's second task group: INVOICE PAYMENT STATUS, in the statistics job's DAG."""
    run = RunContext(dag_id="bcsync_customer_statistics", run_id=run_id, kind=RunKind.SCHEDULED)
    return run_job(PAYMENT_STATUS, run, harness.services, harness.staging).summary()


def coupled_invoices(harness, count: int) -> list[tuple[dict, str]]:
    """Posted BC invoices, each with a Sales invoice created through the Web API and coupled in
    POSTEDSALESINV-INV, as that job would have done: (BC invoice, Sales invoice id)."""
    posted = [r for r in bc_rows(harness.sandbox, "salesInvoice") if r["status"] in ("Open", "Paid")]
    account = dataverse_rows(harness.sandbox, "account")[0]["accountid"]
    price_list = dataverse_rows(harness.sandbox, "pricelevel")[0]["pricelevelid"]  # Sales requires one
    pairs = []
    for invoice in sorted(posted, key=lambda r: r["number"])[:count]:
        created = harness.crm.create(
            "invoices",
            {
                "name": f"Invoice {invoice['number']}",
                "invoicenumber": invoice["number"],
                "customerid_account@odata.bind": f"/accounts({account})",
                "pricelevelid@odata.bind": f"/pricelevels({price_list})",
            },
        )
        pairs.append((invoice, created))
    harness.store.couple("POSTEDSALESINV-INV", [{"bc_id": i["id"], "crm_id": c} for i, c in pairs])
    return pairs


def state_of(harness, invoice_id: str) -> tuple[int, int]:
    row = dataverse_get(harness.sandbox, "invoice", invoice_id)
    return row["statecode"], row["statuscode"]


def test_invoice_payment_status_follows_the_ledger_entry(harness) -> None:
    (paid, paid_id), (partial, partial_id), (open_, open_id), (canceled, canceled_id) = coupled_invoices(
        harness, 4
    )

    def post(invoice: dict, **values) -> None:  # a payment or a cancellation posted in BC
        bc_update(harness.sandbox, "salesInvoice", invoice["id"], values)

    settled = {"remainingAmount": Decimal(0), "status": "Paid"}
    post(paid, **settled)
    post(partial, remainingAmount=partial["totalAmountIncludingTax"] / 2, status="Open")
    post(open_, remainingAmount=open_["totalAmountIncludingTax"], status="Open")
    post(canceled, status="Canceled")

    summary = run_payment_status(harness, "payment_1")

    assert state_of(harness, paid_id) == (2, 100001)  # Paid / Complete
    assert state_of(harness, partial_id) == (2, 100002)  # Paid / Partial
    assert state_of(harness, open_id) == (0, 4)  # Active / Billed
    assert state_of(harness, canceled_id) == (3, 100003)  # Canceled
    assert harness.counters(summary, TO_CRM)["Modified"] == 4
    assert harness.store.jobs(PAYMENT_STATUS).iloc[0]["modified"] == 4

    # Nothing paid since: nothing written. Then the rest of the partial invoice is paid.
    quiet = run_payment_status(harness, "payment_2")
    assert sum(harness.counters(quiet, TO_CRM).values()) == 0
    post(partial, **settled)
    rest = run_payment_status(harness, "payment_3")
    assert harness.counters(rest, TO_CRM)["Modified"] == 1
    assert state_of(harness, partial_id) == (2, 100001)
    assert len(dataverse_rows(harness.sandbox, "invoice")) >= 4  # updated, never created
