"""Sales Invoice Line: a posted invoice line as a Sales invoice product (cu 5341, default-mappings §3.10).

Lines are planned only inside their invoice's job (`bcsync.pipeline.children`), which gives each its
invoice's ids; a line planned on its own fails with BC's "Cannot synchronize invoice lines separately."

Each line gets, as BC sets them before insert: from the Sales invoice its delivery date and ship-to
address and currency, the exchange rate 1 / the invoice's currency factor (1 for LCY), its line
number and tax; the coupled product of its item or resource with the product's default unit (the
product placed on the invoice's price list when it is not on it yet), or else a write-in product
"<No.> <Description>."; with prices including VAT, the unit price without VAT. And, as BC rewrites
them after insert: volume discount 0, manual discount = line discount, base amount = Amount +
invoice discount + line discount, extended amount = Amount Including VAT + invoice discount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from bcsync.engine.model import SOURCE_ID, SyncPass
from bcsync.pipeline.children import PARENT_DESTINATION_ID, PARENT_SOURCE_ID
from bcsync.pipeline.reading import rows_by_key
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, table_rule
from bcsync.rules.invoice_line_products import line_products
from bcsync.rules.price_lists import ensure_product_prices

SEPARATELY = "Cannot synchronize invoice lines separately."
CENT = Decimal("0.01")
SHIP_TO = ("shipto_name", "shipto_line1", "shipto_line2", "shipto_city", "shipto_stateorprovince")
SHIP_TO_ALSO = ("shipto_postalcode", "shipto_country")
HEADER_FIELDS = (
    "invoiceid",
    "datedelivered",
    "_transactioncurrencyid_value",
    "_pricelevelid_value",
    *SHIP_TO,
    *SHIP_TO_ALSO,
)


@table_rule("Sales Invoice Line", SyncPass.TO_CRM)
def invoice_line_before_write(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    rows = plan.index[plan["action"].isin(WRITES)]
    if PARENT_DESTINATION_ID not in source.columns:
        plan.loc[rows, "action"], plan.loc[rows, "error"], plan.loc[rows, "payload"] = (
            "fail",
            SEPARATELY,
            None,
        )
        return plan
    lines = source.drop_duplicates(SOURCE_ID).set_index(SOURCE_ID)
    written = lines.loc[plan.loc[rows, SOURCE_ID]]
    invoices = rows_by_key(
        services.crm, "invoices", "invoiceid", written[PARENT_DESTINATION_ID], HEADER_FIELDS
    )
    # Two BC pages over the same headers: the custom one has the currency factor.
    headers = written[PARENT_SOURCE_ID]
    factors = rows_by_key(services.bc, "salesInvoices", "id", headers, ["id", "currencyFactor"], api="custom")
    vat_included = rows_by_key(services.bc, "salesInvoices", "id", headers, ["id", "pricesIncludeTax"])
    products = line_products(written.reset_index(), services, first_sync=False)
    units = _default_units(services, set(products.product.values()))
    prices: list[tuple[str, str, str, float]] = []
    for index in rows:
        line_id = plan.at[index, SOURCE_ID]
        line = lines.loc[line_id]
        invoice = invoices.get(str(line[PARENT_DESTINATION_ID]).lower())
        problem = products.problem.get(line_id)
        if invoice is None:
            problem = problem or "The Sales invoice of this line cannot be read."
        if problem:
            plan.at[index, "action"], plan.at[index, "error"], plan.at[index, "payload"] = (
                "fail",
                problem,
                None,
            )
            continue
        header = str(line[PARENT_SOURCE_ID]).lower()
        payload = {
            **(plan.at[index, "payload"] or {}),
            **_amounts(line, bool(vat_included.get(header, {}).get("pricesIncludeTax"))),
            **_from_invoice(invoice, factors.get(header, {}).get("currencyFactor")),
            **_product(line, products.product.get(line_id), units),
        }
        if payload.get("productid") and invoice.get("_pricelevelid_value") and payload.get("uomid"):
            prices.append(
                (
                    invoice["_pricelevelid_value"],
                    payload["productid"],
                    payload["uomid"],
                    payload["priceperunit"],
                )
            )
        plan.at[index, "payload"] = payload
    ensure_product_prices(services, prices)
    return plan


def _amounts(line: pd.Series, prices_include_vat: bool) -> dict[str, Any]:
    amount, including = money(line["amountExcludingTax"]), money(line["amountIncludingTax"])
    line_discount = money(line["discountAmount"])
    invoice_discount = money(line.get("invoiceDiscountAllocation"))
    unit_price = money(line["unitPrice"])
    quantity = Decimal(str(line["quantity"] or 0))
    if prices_include_vat and quantity:
        unit_price -= ((including - amount) / quantity).quantize(CENT, ROUND_HALF_UP)
    return {
        "lineitemnumber": int(line["sequence"]),
        "priceperunit": float(unit_price),
        "tax": float(including - amount),
        "volumediscountamount": 0.0,
        "manualdiscountamount": float(line_discount),
        "baseamount": float(amount + invoice_discount + line_discount),
        "extendedamount": float(including + invoice_discount),
    }


def _from_invoice(invoice: dict[str, Any], currency_factor: object) -> dict[str, Any]:
    factor = Decimal(str(currency_factor or 0))
    values: dict[str, Any] = {
        "actualdeliveryon": invoice.get("datedelivered"),
        "transactioncurrencyid": invoice.get("_transactioncurrencyid_value"),
        "exchangerate": float(Decimal(1) / factor) if factor else 1.0,
    }
    values.update({name: invoice.get(name) for name in (*SHIP_TO, *SHIP_TO_ALSO)})
    return values


def _product(line: pd.Series, product: str | None, units: dict[str, str]) -> dict[str, Any]:
    if product is None:
        return {
            "isproductoverridden": True,
            "productdescription": f"{line['lineObjectNumber']} {line['description']}.",
        }
    return {"isproductoverridden": False, "productid": product, "uomid": units.get(product)}


def _default_units(services: Services, products: set[str]) -> dict[str, str]:
    rows = rows_by_key(services.crm, "products", "productid", products, ["productid", "_defaultuomid_value"])
    return {
        p: str(row["_defaultuomid_value"]).lower() for p, row in rows.items() if row["_defaultuomid_value"]
    }


def money(value: object) -> Decimal:
    """An amount as BC holds it: a Decimal to the cent (blank = 0)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return Decimal(0)
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
