"""POSTEDSALESINV-INV with its lines (POSTEDSALESLINE-INV) through the local services: posted invoices sent
to Sales as BC's code sends them (default-mappings §3.9, §3.10; engine-semantics §5.2)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from sandbox_data import bc_insert, bc_rows, bc_update, dataverse_get, dataverse_rows

from bcsync.engine.model import Side, SyncPass
from bcsync.pipeline.children import child_records
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.transform import plan_records

TO_CRM = "ToIntegrationTable"
JOB, LINES = "POSTEDSALESINV-INV", "POSTEDSALESLINE-INV"
POSTED = ("Open", "Paid")
WRITE_IN_TYPES = ("Item",)


def sync_dependencies(harness) -> None:
    """What the invoice job needs coupled first (BC's earlier waves); CUSTOMER is left to the invoices."""
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)


def coupled_salespeople(harness) -> set[str]:
    users = set(harness.store.couplings("SALESPEOPLE")["bc_id"])
    return {row["code"] for row in bc_rows(harness.sandbox, "salespersonPurchaser") if row["id"] in users}


def sendable_invoices(harness, currency: str = "") -> list[dict[str, Any]]:
    """Posted invoices in `currency` whose salesperson is coupled and whose lines are all items."""
    salespeople = coupled_salespeople(harness)
    kinds: dict[str, set[str]] = {}
    for line in bc_rows(harness.sandbox, "salesInvoiceLine"):
        kinds.setdefault(line["documentId"], set()).add(line["lineType"])
    return sorted(
        (
            row
            for row in bc_rows(harness.sandbox, "salesInvoice")
            if row["status"] in POSTED
            and row["currencyCode"] == currency
            and row["salesperson"] in salespeople
            and kinds.get(row["id"]) == {"Item"}
        ),
        key=lambda row: row["number"],
    )


def lines_of(harness, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [r for r in bc_rows(harness.sandbox, "salesInvoiceLine") if r["documentId"] == invoice["id"]]
    return sorted(rows, key=lambda r: r["sequence"])


def sales_invoice(harness, invoice: dict[str, Any]) -> dict[str, Any]:
    couplings = harness.store.couplings(JOB).set_index("bc_id")
    row = dataverse_get(harness.sandbox, "invoice", couplings.at[invoice["id"], "crm_id"])
    assert row is not None
    return row


def sales_lines(harness, sales: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [
        r
        for r in dataverse_rows(harness.sandbox, "invoicedetail")
        if r["_invoiceid_value"] == sales["invoiceid"]
    ]
    return sorted(rows, key=lambda r: r["lineitemnumber"])


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def expected_state(invoice: dict[str, Any]) -> tuple[int, int]:
    """§5 B: paid in full → Paid / Complete, partly → Paid / Partial, not at all → Active / Billed."""
    remaining = money(invoice["remainingAmount"])
    if remaining == 0:
        return 2, 100001
    return (0, 4) if remaining == money(invoice["totalAmountIncludingTax"]) else (2, 100002)


def price_list_name(harness, sales: dict[str, Any]) -> str:
    row = dataverse_get(harness.sandbox, "pricelevel", sales["_pricelevelid_value"])
    assert row is not None
    return row["name"]


def assert_sent_as_bc_computes(harness, invoice: dict[str, Any]) -> dict[str, Any]:
    """The Sales invoice and its lines hold BC's figures (§3.9 after insert, §3.10); returns the invoice."""
    sales = sales_invoice(harness, invoice)
    lines = lines_of(harness, invoice)
    assert sales["name"] == sales["invoicenumber"] == invoice["number"]
    customers = harness.store.couplings("CUSTOMER").set_index("bc_id")
    assert sales["_customerid_value"] == customers.at[invoice["customerId"], "crm_id"]
    amount, total = money(invoice["totalAmountExcludingTax"]), money(invoice["totalAmountIncludingTax"])
    invoice_discount = money(invoice["discountAmount"])
    line_discounts = sum((money(line["discountAmount"]) for line in lines), Decimal(0))
    assert money(sales["totalamountlessfreight"]) == amount
    assert money(sales["totalamount"]) == total
    assert money(sales["totaltax"]) == total - amount
    assert money(sales["discountamount"]) == invoice_discount
    assert money(sales["totallineitemdiscountamount"]) == line_discounts
    assert money(sales["totaldiscountamount"]) == invoice_discount + line_discounts
    assert money(sales["freightamount"]) == 0
    sent = sales_lines(harness, sales)
    assert [s["lineitemnumber"] for s in sent] == [line["sequence"] for line in lines]
    for line, detail in zip(lines, sent, strict=True):
        allocation = money(line["invoiceDiscountAllocation"])
        assert money(detail["quantity"]) == money(line["quantity"])
        assert money(detail["manualdiscountamount"]) == money(line["discountAmount"])
        assert money(detail["volumediscountamount"]) == 0
        assert money(detail["tax"]) == money(line["amountIncludingTax"]) - money(line["amountExcludingTax"])
        assert money(detail["baseamount"]) == (
            money(line["amountExcludingTax"]) + allocation + money(line["discountAmount"])
        )
        assert money(detail["extendedamount"]) == money(line["amountIncludingTax"]) + allocation
        assert detail["ispriceoverridden"] is True
        assert detail["_transactioncurrencyid_value"] == sales["_transactioncurrencyid_value"]
    return sales


def test_full_sync_sends_posted_invoices_with_their_lines_customers_first(harness):
    sync_dependencies(harness)
    invoices = sendable_invoices(harness)
    assert harness.store.couplings("CUSTOMER").empty

    summary = harness.run(JOB, RunKind.FULL)
    counters = harness.counters(summary, TO_CRM)

    couplings = harness.store.couplings(JOB)
    assert counters["Inserted"] == len(couplings) >= len(invoices) > 0
    for invoice in invoices:
        sales = assert_sent_as_bc_computes(harness, invoice)
        assert price_list_name(harness, sales) == "Business Central Default Price List"
        assert (sales["statecode"], sales["statuscode"]) == expected_state(invoice)
        # No item is coupled to a product (ITEM-PRODUCT has not run): every line is a write-in.
        for line, detail in zip(lines_of(harness, invoice), sales_lines(harness, sales), strict=True):
            assert detail["isproductoverridden"] is True and detail["_productid_value"] is None
            assert detail["productdescription"] == f"{line['lineObjectNumber']} {line['description']}."
    # The lines are counted in the invoice job; Sales holds exactly the lines of the invoices sent.
    sent_lines = [
        r
        for r in dataverse_rows(harness.sandbox, "invoicedetail")
        if r["_invoiceid_value"] in set(couplings["crm_id"])
    ]
    assert counters[f"{LINES} Inserted"] == len(sent_lines) == len(harness.store.couplings(LINES))
    assert counters[f"{LINES} Failed"] == 0
    # The customers were not coupled: CUSTOMER synchronized them first, in a manual job of its own.
    customer_jobs = harness.store.jobs("CUSTOMER")
    assert (customer_jobs["type"] == "manual").any()
    assert {i["customerId"] for i in invoices} <= set(harness.store.couplings("CUSTOMER")["bc_id"])
    # Invoices with a resource line fail: RESOURCE-PRODUCT does not run, so the resource stays uncoupled.
    errors = harness.store.open_errors(JOB)
    assert counters["Failed"] == len(errors) > 0
    assert errors["message"].str.contains("must be coupled to a record in Dynamics 365 Sales").all()


def test_a_second_run_writes_nothing(harness):
    sync_dependencies(harness)
    harness.run(JOB, RunKind.FULL)
    invoices_before = {r["invoiceid"]: r["_version"] for r in dataverse_rows(harness.sandbox, "invoice")}
    lines_before = {
        r["invoicedetailid"]: r["_version"] for r in dataverse_rows(harness.sandbox, "invoicedetail")
    }

    scheduled = harness.counters(harness.run(JOB), TO_CRM)
    full = harness.counters(harness.run(JOB, RunKind.FULL), TO_CRM)

    assert scheduled["Inserted"] == scheduled["Modified"] == full["Inserted"] == full["Modified"] == 0
    # BC sends an invoice's lines once, after creating it: unchanged invoices leave their lines alone.
    assert full[f"{LINES} Inserted"] == full[f"{LINES} Modified"] == full[f"{LINES} Unchanged"] == 0
    assert full["Unchanged"] == len(harness.store.couplings(JOB))
    assert {
        r["invoiceid"]: r["_version"] for r in dataverse_rows(harness.sandbox, "invoice")
    } == invoices_before
    after = {r["invoicedetailid"]: r["_version"] for r in dataverse_rows(harness.sandbox, "invoicedetail")}
    assert after == lines_before


# ---- an invoice posted for the test: coupled and uncoupled items, discounts, prices incl. VAT, CAD ----

CUSTOMER_FIELDS = ("customerId", "customerNumber", "customerName", "billToName", "salesperson")
CAD_FACTOR = Decimal("1.25")  # CAD per unit of LCY when posted: Sales lines get the rate 1 / 1.25


def post_invoice(harness, number: str, *, item_numbers: list[str], currency: str = "CAD") -> dict[str, Any]:
    """A posted, unpaid invoice (BC has computed its amounts) whose customer's salesperson is coupled:
    one line per item, each with a line discount and a share of an invoice discount, prices incl. VAT."""
    template = sendable_invoices(harness)[0]
    items = {row["number"]: row for row in bc_rows(harness.sandbox, "item")}
    lines, amount, tax = [], Decimal(0), Decimal(0)
    for sequence, item_number in enumerate(item_numbers, start=1):
        quantity, unit_price_incl_vat = Decimal(3 + sequence), Decimal("125.00")
        line_discount, allocation = Decimal("12.50"), Decimal("5.00")
        including = quantity * unit_price_incl_vat - line_discount - allocation
        line_amount = (including / Decimal("1.25")).quantize(Decimal("0.01"))  # 25 % VAT included
        lines.append(
            {
                "sequence": sequence * 10000,
                "lineType": "Item",
                "itemId": items[item_number]["id"],
                "lineObjectNumber": item_number,
                "description": items[item_number]["displayName"],
                "unitOfMeasureCode": "PCS",
                "quantity": quantity,
                "unitPrice": unit_price_incl_vat,
                "discountAmount": line_discount,
                "invoiceDiscountAllocation": allocation,
                "amountExcludingTax": line_amount,
                "totalTaxAmount": including - line_amount,
                "amountIncludingTax": including,
                "taxPercent": Decimal(25),
            }
        )
        amount, tax = amount + line_amount, tax + including - line_amount
    header = bc_insert(
        harness.sandbox,
        "salesInvoice",
        {
            **{
                k: template[k]
                for k in ("customerId", "customerNumber", "customerName", "billToName", "salesperson")
            },
            "number": number,
            "invoiceDate": template["invoiceDate"],
            "postingDate": template["postingDate"],
            "dueDate": template["dueDate"],
            "currencyCode": currency,
            "currencyFactor": CAD_FACTOR,
            "pricesIncludeTax": True,
            "discountAmount": Decimal("5.00") * len(lines),
            "totalAmountExcludingTax": amount,
            "totalTaxAmount": tax,
            "totalAmountIncludingTax": amount + tax,
            "remainingAmount": amount + tax,
            "status": "Open",
            "shipToName": "Receiving dock",
            "shipToCity": "Toronto",
            "shipmentDate": template["invoiceDate"],
        },
    )
    for line in lines:
        bc_insert(harness.sandbox, "salesInvoiceLine", {**line, "documentId": header["id"]})
    return header


def couple_item_to_its_product(harness, item_number: str) -> dict[str, Any]:
    """ITEM-PRODUCT has not landed: couple the item to the Sales product of the same number, as its
    match-based coupling would; returns the product."""
    product = next(p for p in dataverse_rows(harness.sandbox, "product") if p["productnumber"] == item_number)
    item = next(i for i in bc_rows(harness.sandbox, "item") if i["number"] == item_number)
    harness.store.couple("ITEM-PRODUCT", [{"bc_id": item["id"], "crm_id": product["productid"]}])
    return product


def items_with_products(harness) -> list[str]:
    products = {p["productnumber"] for p in dataverse_rows(harness.sandbox, "product")}
    return sorted(i["number"] for i in bc_rows(harness.sandbox, "item") if i["number"] in products)


def items_without_products(harness) -> list[str]:
    with_products = set(items_with_products(harness))
    return sorted(i["number"] for i in bc_rows(harness.sandbox, "item") if i["number"] not in with_products)


def test_foreign_currency_invoice_with_coupled_and_write_in_items_discounts_and_prices_incl_vat(harness):
    sync_dependencies(harness)
    coupled_item, write_in_item = items_with_products(harness)[0], items_without_products(harness)[0]
    product = couple_item_to_its_product(harness, coupled_item)
    invoice = post_invoice(harness, "TEST-CAD-1", item_numbers=[coupled_item, write_in_item])

    summary = harness.run(JOB, RunKind.FULL)

    sales = assert_sent_as_bc_computes(harness, invoice)
    assert harness.counters(summary, TO_CRM)[f"{LINES} Inserted"] >= 2
    assert price_list_name(harness, sales) == "Price List in CAD"
    currencies = {
        r["isocurrencycode"]: r["transactioncurrencyid"]
        for r in dataverse_rows(harness.sandbox, "transactioncurrency")
    }
    assert sales["_transactioncurrencyid_value"] == currencies["CAD"]
    assert (sales["statecode"], sales["statuscode"]) == (0, 4)  # nothing paid: Active / Billed
    assert money(sales["totaldiscountamount"]) == Decimal("35.00")  # 2 × 5.00 invoice + 2 × 12.50 line
    coupled_line, write_in_line = sales_lines(harness, sales)
    bc_lines = lines_of(harness, invoice)
    for detail, line in zip((coupled_line, write_in_line), bc_lines, strict=True):
        # Prices include VAT: the unit price sent is without it (Unit Price − VAT per unit, rounded).
        vat = money(line["amountIncludingTax"]) - money(line["amountExcludingTax"])
        vat_per_unit = (vat / money(line["quantity"])).quantize(Decimal("0.01"), ROUND_HALF_UP)  # BC's Round
        assert money(detail["priceperunit"]) == money(line["unitPrice"]) - vat_per_unit
        assert Decimal(str(detail["exchangerate"])) == (1 / CAD_FACTOR).quantize(Decimal("0.00001"))
        assert detail["shipto_name"] == "Receiving dock" and detail["shipto_city"] == "Toronto"
    assert coupled_line["_productid_value"] == product["productid"]
    assert coupled_line["_uomid_value"] == product["_defaultuomid_value"]
    assert coupled_line["isproductoverridden"] is False
    assert write_in_line["_productid_value"] is None and write_in_line["isproductoverridden"] is True
    assert write_in_line["productdescription"] == f"{write_in_item} {bc_lines[1]['description']}."
    # The product was placed on the invoice's price list (Sales prices an invoice product from it).
    prices = [
        p
        for p in dataverse_rows(harness.sandbox, "productpricelevel")
        if p["_pricelevelid_value"] == sales["_pricelevelid_value"]
    ]
    assert [(p["_productid_value"], p["_uomid_value"]) for p in prices] == [
        (product["productid"], product["_defaultuomid_value"])
    ]
    assert money(prices[0]["amount"]) == money(coupled_line["priceperunit"])


def test_coupled_invoice_no_longer_active_in_sales_is_left_alone(harness):
    sync_dependencies(harness)
    invoice = post_invoice(harness, "TEST-ACTIVE", item_numbers=items_without_products(harness)[:1])
    paid = next(i for i in sendable_invoices(harness) if money(i["remainingAmount"]) == 0)
    harness.run(JOB, RunKind.FULL)
    paid_before = sales_invoice(harness, paid)
    assert paid_before["statecode"] == 2  # Paid: read-only in Sales

    for changed in (invoice, paid):
        bc_update(harness.sandbox, "salesInvoice", changed["id"], {"dueDate": "2030-01-31"})
    counters = harness.counters(harness.run(JOB), TO_CRM)

    assert counters["Modified"] == 1  # the active invoice; the paid one is ignored, counted nowhere
    assert counters["Inserted"] == counters["Unchanged"] == counters["Skipped"] == counters["Failed"] == 0
    assert sales_invoice(harness, invoice)["duedate"].date().isoformat() == "2030-01-31"
    assert sales_invoice(harness, paid)["_version"] == paid_before["_version"]


def test_blocked_item_on_a_new_invoice_fails_it_with_bcs_message(harness):
    sync_dependencies(harness)
    number = items_without_products(harness)[0]
    invoice = post_invoice(harness, "TEST-BLOCKED", item_numbers=[number])
    item = next(i for i in bc_rows(harness.sandbox, "item") if i["number"] == number)
    bc_update(harness.sandbox, "item", item["id"], {"blocked": True})

    harness.run(JOB, RunKind.FULL)

    assert invoice["id"] not in set(harness.store.couplings(JOB)["bc_id"])
    assert not [r for r in dataverse_rows(harness.sandbox, "invoice") if r["invoicenumber"] == "TEST-BLOCKED"]
    errors = harness.store.open_errors(JOB)
    assert errors.loc[errors["bc_id"] == invoice["id"], "message"].tolist() == [
        f"Blocked must be equal to 'No'  in Item: No.={number}. Current value is 'Yes'."
    ]


def test_a_failed_line_fails_its_invoice_which_stays_coupled_and_is_completed_next_run(harness):
    sync_dependencies(harness)
    item_number = items_with_products(harness)[0]
    item = next(i for i in bc_rows(harness.sandbox, "item") if i["number"] == item_number)
    # The item's coupling points at a product deleted in Sales: Sales refuses that line.
    harness.store.couple(
        "ITEM-PRODUCT", [{"bc_id": item["id"], "crm_id": "0badc0de-0000-4000-8000-000000000001"}]
    )
    invoice = post_invoice(
        harness, "TEST-RETRY", item_numbers=[items_without_products(harness)[0], item_number]
    )

    first = harness.counters(harness.run(JOB, RunKind.FULL), TO_CRM)

    created = [r for r in dataverse_rows(harness.sandbox, "invoice") if r["invoicenumber"] == "TEST-RETRY"]
    assert len(created) == 1 and created[0]["statecode"] == 0
    coupling = harness.store.couplings(JOB).set_index("bc_id").loc[invoice["id"]]
    assert coupling["to_crm_result"] == "Failure"
    assert first[f"{LINES} Failed"] >= 1  # seed invoices with that item fail the same way
    message = harness.store.open_errors(JOB).set_index("bc_id").at[invoice["id"], "message"]
    assert message.startswith("Sales Invoice Line")

    harness.store.uncouple("ITEM-PRODUCT", bc_ids=[item["id"]])  # the item is written in instead
    second = harness.counters(harness.run(JOB), TO_CRM)

    # Its line now written in; its other line, written last time, is unchanged.
    assert second["Failed"] == 0 and second[f"{LINES} Inserted"] >= 1 and second[f"{LINES} Unchanged"] >= 1
    assert harness.store.couplings(JOB).set_index("bc_id").at[invoice["id"], "to_crm_result"] == "Success"
    again = [r for r in dataverse_rows(harness.sandbox, "invoice") if r["invoicenumber"] == "TEST-RETRY"]
    assert [r["invoiceid"] for r in again] == [created[0]["invoiceid"]]  # no second invoice
    assert_sent_as_bc_computes(harness, invoice)


def test_invoice_lines_are_never_synchronized_on_their_own(harness):
    lines = harness.services.registry.get(LINES)
    posted = next(i for i in bc_rows(harness.sandbox, "salesInvoice") if i["status"] in POSTED)
    source = child_records(lines, Side.BC, harness.services, [posted["id"]])
    alone = source.drop(columns=["parent_source_id"])
    run = RunContext(dag_id="manual", run_id="lines alone", kind=RunKind.FULL)

    plan = plan_records(lines, SyncPass.TO_CRM, run, harness.services, alone, pd.DataFrame(), pd.DataFrame())

    assert len(plan) == len(source) > 0
    assert set(plan["action"]) == {"fail"}
    assert set(plan["error"]) == {"Cannot synchronize invoice lines separately."}


def test_an_invoice_whose_customer_cannot_be_synchronized_first_fails_with_bcs_message(harness):
    sync_dependencies(harness)
    invoice = post_invoice(harness, "TEST-CUSTOMER", item_numbers=items_without_products(harness)[:1])
    uncoupled = next(
        row["code"]
        for row in bc_rows(harness.sandbox, "salespersonPurchaser")
        if row["code"] not in coupled_salespeople(harness)
    )
    # The customer's own salesperson has no Sales user: CUSTOMER cannot create its account.
    bc_update(harness.sandbox, "customer", invoice["customerId"], {"salespersonCode": uncoupled})

    harness.run(JOB, RunKind.FULL)

    assert invoice["customerId"] not in set(harness.store.couplings("CUSTOMER")["bc_id"])
    customer_errors = harness.store.open_errors("CUSTOMER")
    assert (customer_errors["bc_id"] == invoice["customerId"]).any()  # CUSTOMER's own job says why
    errors = harness.store.open_errors(JOB).set_index("bc_id")
    assert errors.at[invoice["id"], "message"] == (
        f"Customer {invoice['customerNumber']} must be coupled to a record in Dynamics 365 Sales."
    )
    assert not [
        r for r in dataverse_rows(harness.sandbox, "invoice") if r["invoicenumber"] == "TEST-CUSTOMER"
    ]
