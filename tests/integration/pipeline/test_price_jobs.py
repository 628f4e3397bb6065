"""CUSTPRCGRP-PRICE and SALESPRC-PRODUCTPRICE through every step against the local services (legacy
pricing): price groups become Sales price lists in their prices' currency, their sales prices price
list items in the "NAV <unit>" group's unit.

The products and their "NAV <unit>" groups come from the real jobs they depend on, run first:
CURRENCY, UNITOFMEASURE and ITEM-PRODUCT (full synchronizations).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from bcsync.pipeline.context import RunKind
from sandbox.seed import catalog
from tests.sandbox_data import bc_insert, bc_update

TO_CRM = "ToIntegrationTable"
GROUPS, PRICES = "CUSTPRCGRP-PRICE", "SALESPRC-PRODUCTPRICE"
PRICED = ("RETAIL", "WHOLESALE", "EXPORT")  # the seed's groups with prices in one currency


def rows(hook: Any, entity_set: str, select: list[str], **options: Any) -> list[dict[str, Any]]:
    return [row for page in hook.iter_pages(entity_set, select=select, **options) for row in page]


def run_dependencies(harness) -> None:
    """What the price jobs depend on, as BC's dependency waves run it: currencies, "NAV <unit>" unit
    groups, the items as products (the seed's item 1999-S, without a base unit, fails alone)."""
    for job in ("CURRENCY", "UNITOFMEASURE", "ITEM-PRODUCT"):
        harness.run(job, RunKind.FULL)


@pytest.fixture
def prices_ready(harness):
    run_dependencies(harness)
    return harness


def price_lists(harness) -> dict[str, dict[str, Any]]:
    select = ["pricelevelid", "name", "description", "_transactioncurrencyid_value", "_bcbi_companyid_value"]
    return {r["name"]: r for r in rows(harness.crm, "pricelevels", select)}


def items_on(harness, price_list_id: str) -> list[dict[str, Any]]:
    return rows(
        harness.crm,
        "productpricelevels",
        ["productpricelevelid", "productnumber", "amount", "_uomid_value", "_transactioncurrencyid_value"],
        filter=f"_pricelevelid_value eq {price_list_id}",
    )


def products_in_unit_group(harness, name: str) -> list[dict[str, Any]]:
    [group] = rows(harness.crm, "uomschedules", ["uomscheduleid"], filter=f"name eq '{name}'")
    where = f"_defaultuomscheduleid_value eq {group['uomscheduleid']}"
    return rows(harness.crm, "products", ["productnumber"], filter=where)


def currency_id(harness, iso: str) -> str:
    return rows(
        harness.crm, "transactioncurrencies", ["transactioncurrencyid"], filter=f"isocurrencycode eq '{iso}'"
    )[0]["transactioncurrencyid"]


def bc_prices(harness, group: str) -> list[dict[str, Any]]:
    return rows(
        harness.bc,
        "salesPrices",
        ["id", "itemNo", "currencyCode", "unitOfMeasureCode", "unitPrice"],
        filter=f"salesType eq 'Customer Price Group' and salesCode eq '{group}'",
        api="custom",
    )


def test_price_groups_become_price_lists_in_the_currency_of_their_prices_and_a_mixed_group_fails(
    prices_ready,
):
    harness = prices_ready
    summary = harness.run(GROUPS, RunKind.FULL)

    # RETAIL exists in Sales by name (coupled); three are created; MIXED has EUR and GBP prices.
    assert harness.counters(summary, TO_CRM) == {
        "Inserted": 3,
        "Modified": 0,
        "Deleted": 0,
        "Unchanged": 1,
        "Skipped": 0,
        "Failed": 1,
        "Coupled": 1,
    }
    lists = price_lists(harness)
    usd, eur = currency_id(harness, "USD"), currency_id(harness, "EUR")
    assert lists["WHOLESALE"]["_transactioncurrencyid_value"] == usd
    assert lists["WHOLESALE"]["description"] == "Wholesale customers"
    assert lists["LARGE ACC"]["_transactioncurrencyid_value"] == usd  # no prices: LCY
    assert lists["EXPORT"]["_transactioncurrencyid_value"] == eur
    assert "MIXED" not in lists
    this_company = f"bcbi_externalid eq '{harness.sandbox.company_id.lower()}'"
    company = rows(harness.crm, "bcbi_companies", ["bcbi_companyid"], filter=this_company)[0][
        "bcbi_companyid"
    ]
    assert lists["EXPORT"]["_bcbi_companyid_value"] == company
    errors = harness.store.open_errors(GROUPS)
    assert len(errors) == 1
    message = errors.iloc[0]["message"]
    assert message.startswith("Currency Code must be equal to 'EUR'  in Sales Price: Item No.=")
    assert "Sales Type=Customer Price Group, Sales Code=MIXED" in message
    assert message.endswith("Current value is 'GBP'.")


def test_a_groups_prices_are_synchronized_right_after_the_group_and_existing_items_are_matched(prices_ready):
    harness = prices_ready
    retail = price_lists(harness)["RETAIL"]["pricelevelid"]
    seeded = {item["productnumber"]: item for item in items_on(harness, retail)}
    assert seeded  # last year's RETAIL prices, entered in Sales
    # One of them a Sales user already raised to BC's price: found, it is still written (BC forces it).
    number, current = next(iter(seeded.items()))
    bc_price = next(p for p in bc_prices(harness, "RETAIL") if p["itemNo"] == number)["unitPrice"]
    harness.sales_user_edit("productpricelevel", current["productpricelevelid"], {"amount": bc_price})
    # Two SET items were products in Sales' "Default Unit" group before (Sales had no "NAV SET").
    # ITEM-PRODUCT coupled them by number without synchronizing them (Synch. After Bulk Coupling is
    # off for it, as in BC), so they stay in that group, and Dataverse refuses their prices in SET:
    # what BC meets too. Their prices (one per priced group) fail; the rest goes on.
    priced_items = {p["itemNo"] for code in PRICED for p in bc_prices(harness, code)}
    stuck = priced_items & {p["productnumber"] for p in products_in_unit_group(harness, "Default Unit")}
    assert stuck == {"1965-W", "1969-W"}
    refused_in = {code: sum(p["itemNo"] in stuck for p in bc_prices(harness, code)) for code in PRICED}
    refused = sum(refused_in.values())

    harness.run(GROUPS, RunKind.FULL)

    jobs = harness.store.jobs(PRICES)
    assert len(jobs) == 1  # one follow-up job, as BC's subscriber runs one, not the scheduled job
    job = jobs.iloc[0]
    priced = {g.code: len(bc_prices(harness, g.code)) for g in catalog.PRICE_GROUPS}
    synced = sum(priced[code] for code in PRICED) - refused  # LARGE ACC has none, MIXED failed
    assert (job["inserted"], job["modified"], job["failed"]) == (synced - len(seeded), len(seeded), refused)
    refusal = "HTTP 400 0x80043b14: The specified unit is not valid for this product."
    assert all(m.startswith(refusal) for m in harness.store.open_errors(PRICES)["message"])

    lists = price_lists(harness)
    on_retail = items_on(harness, retail)
    # the seeded items were matched, not created again
    assert len(on_retail) == priced["RETAIL"] - refused_in["RETAIL"]
    bc_retail = {p["itemNo"]: Decimal(str(p["unitPrice"])) for p in bc_prices(harness, "RETAIL")}
    assert all(Decimal(str(i["amount"])) == bc_retail[i["productnumber"]] for i in on_retail)
    assert {i["productnumber"] for i in on_retail} >= set(seeded)
    assert {i["productpricelevelid"] for i in on_retail} >= {
        s["productpricelevelid"] for s in seeded.values()
    }
    eur = currency_id(harness, "EUR")
    export = items_on(harness, lists["EXPORT"]["pricelevelid"])
    assert len(export) == priced["EXPORT"] - refused_in["EXPORT"]
    assert {i["_transactioncurrencyid_value"] for i in export} == {eur}
    assert len(harness.store.couplings(PRICES)) == synced

    # Nothing changed: the price job's scheduled run reads every price once (no watermark yet) and
    # writes nothing; the MIXED group's prices fail, their price list missing, and the refused ones
    # are refused again.
    again = harness.run(PRICES)
    counters = harness.counters(again, TO_CRM)
    assert counters["Unchanged"] == synced and counters["Inserted"] == counters["Modified"] == 0
    assert counters["Failed"] == priced["MIXED"] + refused
    failures = Counter(
        refusal if m.startswith(refusal) else m for m in harness.store.open_errors(PRICES)["message"]
    )
    assert failures == {
        "Customer Price Group MIXED must be coupled to a record in Dynamics 365 Sales.": priced["MIXED"],
        refusal: refused,  # one open error per record: its newest supersedes the earlier run's
    }


def test_prices_are_in_the_unit_of_the_nav_unit_group(prices_ready):
    harness = prices_ready
    harness.run(GROUPS, RunKind.FULL)
    groups = {
        r["name"]: r["uomscheduleid"] for r in rows(harness.crm, "uomschedules", ["uomscheduleid", "name"])
    }
    unit_of = {
        r["uomid"]: r["_uomscheduleid_value"]
        for r in rows(harness.crm, "uoms", ["uomid", "_uomscheduleid_value"])
    }
    wholesale = price_lists(harness)["WHOLESALE"]["pricelevelid"]
    units = {p["itemNo"]: p["unitOfMeasureCode"] for p in bc_prices(harness, "WHOLESALE")}
    for item in items_on(harness, wholesale):
        assert unit_of[item["_uomid_value"]] == groups[f"NAV {units[item['productnumber']]}"]


def test_a_new_and_a_changed_sales_price_reach_sales_on_the_next_scheduled_run(prices_ready):
    harness = prices_ready
    harness.run(GROUPS, RunKind.FULL)
    harness.run(PRICES, RunKind.FULL)
    lists = price_lists(harness)
    changed = bc_prices(harness, "WHOLESALE")[0]
    bc_update(harness.sandbox, "salesPrice", changed["id"], {"unitPrice": Decimal("12.34")})
    new_price = {"itemNo": "1896-S", "salesType": "Customer Price Group", "salesCode": "LARGE ACC"}
    bc_insert(
        harness.sandbox, "salesPrice", {**new_price, "unitOfMeasureCode": "PCS", "unitPrice": Decimal("77.5")}
    )

    summary = harness.run(PRICES)

    assert harness.counters(summary, TO_CRM) == {
        "Inserted": 1,
        "Modified": 1,
        "Deleted": 0,
        "Unchanged": 0,
        "Skipped": 0,
        "Failed": 0,
        "Coupled": 0,
    }
    wholesale = {i["productnumber"]: i for i in items_on(harness, lists["WHOLESALE"]["pricelevelid"])}
    assert Decimal(str(wholesale[changed["itemNo"]]["amount"])) == Decimal("12.34")
    [large] = items_on(harness, lists["LARGE ACC"]["pricelevelid"])
    assert (large["productnumber"], Decimal(str(large["amount"]))) == ("1896-S", Decimal("77.5"))


def test_a_price_list_whose_currency_was_changed_in_sales_fails_with_bcs_message(prices_ready):
    harness = prices_ready
    harness.run(GROUPS, RunKind.FULL)
    export = price_lists(harness)["EXPORT"]
    harness.sales_user_edit(
        "pricelevel", export["pricelevelid"], {"transactioncurrencyid": currency_id(harness, "USD")}
    )
    group = next(
        r
        for r in rows(harness.bc, "customerPriceGroups", ["id", "code"], api="custom")
        if r["code"] == "EXPORT"
    )

    summary = harness.run(GROUPS, RunKind.RECORDS, record_ids=(group["id"],))

    assert harness.counters(summary, TO_CRM)["Failed"] == 1
    message = harness.store.open_errors(GROUPS).iloc[-1]["message"]
    eur, usd = currency_id(harness, "EUR").upper(), currency_id(harness, "USD").upper()
    price_list = export["pricelevelid"].upper()
    assert message == (
        f"Currency must be equal to '{{{eur}}}'  in CRM Pricelevel: Price List={{{price_list}}}. "
        f"Current value is '{{{usd}}}'."
    )


def test_a_group_with_a_price_in_a_unit_sales_lacks_fails_with_bcs_message(prices_ready):
    harness = prices_ready
    # A Sales user renames the "NAV SET" unit group UNITOFMEASURE made: Sales no longer has it.
    [nav_set] = rows(harness.crm, "uomschedules", ["uomscheduleid"], filter="name eq 'NAV SET'")
    harness.sales_user_edit("uomschedule", nav_set["uomscheduleid"], {"name": "Sets"})

    summary = harness.run(GROUPS, RunKind.FULL)

    # Every priced group has a SET price; RETAIL, coupled to its Sales list unchanged, is not written.
    assert harness.counters(summary, TO_CRM)["Failed"] == 3
    messages = set(harness.store.open_errors(GROUPS)["message"])
    assert "Cannot find the unit group 'NAV SET' in Dynamics 365 Sales." in messages
