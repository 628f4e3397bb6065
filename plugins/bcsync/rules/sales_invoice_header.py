"""Sales Invoice Header: a posted invoice sent to Sales as BC's code sends it (cu 5341, §3.9).

Before it is written:
* an invoice already coupled to a Sales invoice that is no longer Active is left alone (BC ignores it);
* a new invoice gets its name (the invoice No.), its customer (the account coupled to the sell-to
  customer, which is synchronized first when it is not coupled yet) and its price list (the default
  price list for LCY, "Price List in <ISO code>" for another currency, created when missing); its lines'
  items and resources must not be blocked, and uncoupled ones are synchronized first.
After its lines are written (the after-children stage): the totals as BC computes them and the state
from the invoice's payment (Paid / Complete, Paid / Partial, Active / Billed, Canceled).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, Side, SyncPass
from bcsync.pipeline.children import child_records
from bcsync.pipeline.reading import rows_by_key
from bcsync.pipeline.services import Services
from bcsync.pipeline.sync_first import coupled_or_synchronized_first
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, RuleKind, table_rule
from bcsync.rules.invoice_line_products import SALES, line_products
from bcsync.rules.price_lists import PriceLists
from bcsync.rules.sales_invoice_line import money

CUSTOMER_MAPPING = "CUSTOMER"
DATE_FIELDS = frozenset({"duedate", "datedelivered"})
BLANK_DATE = "0001-01-01"
ACTIVE = 0
# Sales invoice state and status (statecode, statuscode) from the posted invoice's payment (§5 B).
ACTIVE_BILLED, PAID_COMPLETE, PAID_PARTIAL, CANCELED = (0, 4), (2, 100001), (2, 100002), (3, 100003)


@table_rule("Sales Invoice Header", SyncPass.TO_CRM)
def invoice_before_write(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    plan = _leave_inactive_alone(plan, services)
    plan = _dates_as_date_times(plan)
    inserts = plan.index[plan["action"] == "insert"]
    if not len(inserts):
        return plan
    headers = source.drop_duplicates(SOURCE_ID).set_index(SOURCE_ID)
    new_ids = plan.loc[inserts, SOURCE_ID].tolist()
    problems = _line_problems(mapping, new_ids, services)
    sendable = [i for i in new_ids if i not in problems]
    accounts = coupled_or_synchronized_first(CUSTOMER_MAPPING, headers.loc[sendable, "customerId"], services)
    price_lists = PriceLists(services)
    for index in inserts:
        header = headers.loc[plan.at[index, SOURCE_ID]]
        account = accounts.get(str(header["customerId"]).lower())
        problem = problems.get(plan.at[index, SOURCE_ID])
        if problem is None and account is None:
            problem = f"Customer {header['customerNumber']} must be coupled to a record in {SALES}."
        payload = dict(plan.at[index, "payload"] or {})
        if problem is None and not payload.get("transactioncurrencyid"):
            problem = f"Currency {header['currencyCode'] or '(LCY)'} must be coupled to a record in {SALES}."
        if problem is not None:
            plan.at[index, "action"], plan.at[index, "error"] = "fail", problem
            continue
        payload.update(
            name=str(header["number"]),
            customerid=account,
            pricelevelid=price_lists.for_currency(payload["transactioncurrencyid"]),
        )
        plan.at[index, "payload"] = payload
    return plan


@table_rule("Sales Invoice Header", SyncPass.TO_CRM, RuleKind.AFTER_CHILDREN)
def totals_and_state(
    mapping: IntegrationTableMapping, written: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """The follow-up update of each invoice whose lines are in Sales: BC's totals and the final state."""
    headers = source.drop_duplicates(SOURCE_ID).set_index(SOURCE_ID)
    line_discounts = _line_discounts(mapping, written[SOURCE_ID].tolist(), services)
    for index in written.index:
        source_id = written.at[index, SOURCE_ID]
        if source_id not in headers.index:
            continue  # not readable any more: nothing to complete
        header = headers.loc[source_id]
        amount = money(header["totalAmountExcludingTax"])
        total = money(header["totalAmountIncludingTax"])
        invoice_discount = money(header["discountAmount"])
        lines_discount = line_discounts.get(source_id, Decimal(0))
        state, status = _state(header, total)
        written.at[index, "payload"] = {
            "totalamountlessfreight": float(amount),
            "totalamount": float(total),
            "discountamount": float(invoice_discount),
            "freightamount": 0.0,
            "discountpercentage": 0.0,
            "totaltax": float(total - amount),
            "totallineitemdiscountamount": float(lines_discount),
            "totaldiscountamount": float(invoice_discount + lines_discount),
            "statecode": state,
            "statuscode": status,
        }
        written.at[index, "action"] = "modify"
    return written


def _leave_inactive_alone(plan: pd.DataFrame, services: Services) -> pd.DataFrame:
    """Coupled invoices whose Sales invoice is no longer Active (paid, canceled) are ignored, as BC's
    post-filter ignores them: no counter, nothing written."""
    coupled = plan.index[(plan["action"] == "modify") & plan[DESTINATION_ID].notna()]
    if not len(coupled):
        return plan
    invoices = plan.loc[coupled, DESTINATION_ID]
    state = rows_by_key(services.crm, "invoices", "invoiceid", invoices, ["invoiceid", "statecode"])
    inactive = [
        i
        for i in coupled
        if state.get(str(plan.at[i, DESTINATION_ID]).lower(), {}).get("statecode") != ACTIVE
    ]
    plan.loc[inactive, "action"] = "ignore"
    plan.loc[inactive, "payload"] = None
    return plan


def _dates_as_date_times(plan: pd.DataFrame) -> pd.DataFrame:
    """BC's Date fields (due date, shipment date) in Sales' date-and-time columns: midnight UTC, as a
    Date assigned to a DateTime is in BC (CreateDateTime(date, 0T)); a blank date (0001-01-01) is none."""
    for index in plan.index[plan["action"].isin(WRITES)]:
        payload = dict(plan.at[index, "payload"] or {})
        for name in DATE_FIELDS & payload.keys():
            day = str(payload[name] or "")[:10]
            payload[name] = None if not day or day == BLANK_DATE else f"{day}T00:00:00Z"
        plan.at[index, "payload"] = payload
    return plan


def _line_problems(
    mapping: IntegrationTableMapping, invoice_ids: list[str], services: Services
) -> dict[str, str]:
    """Invoice id → the first reason one of its lines cannot be sent (blocked, uncoupled resource)."""
    lines = _lines(mapping, invoice_ids, services)
    found = line_products(lines, services, first_sync=True).problem
    problems: dict[str, str] = {}
    for line_id, invoice_id in zip(lines[SOURCE_ID], lines["parent_source_id"], strict=True):
        if line_id in found:
            problems.setdefault(invoice_id, found[line_id])
    return problems


def _line_discounts(
    mapping: IntegrationTableMapping, invoice_ids: list[str], services: Services
) -> dict[str, Decimal]:
    lines = _lines(mapping, invoice_ids, services)
    sums: dict[str, Decimal] = {}
    for invoice_id, discount in zip(lines["parent_source_id"], lines.get("discountAmount", []), strict=False):
        sums[invoice_id] = sums.get(invoice_id, Decimal(0)) + money(discount)
    return sums


def _lines(mapping: IntegrationTableMapping, invoice_ids: list[str], services: Services) -> pd.DataFrame:
    (child,) = services.registry.children(mapping.name)
    return child_records(child, Side.BC, services, invoice_ids)


def _state(header: pd.Series, total: Decimal) -> tuple[int, int]:
    if str(header.get("status")) == "Canceled":
        return CANCELED
    remaining = money(header.get("remainingAmount"))
    if remaining == 0:
        return PAID_COMPLETE
    return ACTIVE_BILLED if remaining == total else PAID_PARTIAL
