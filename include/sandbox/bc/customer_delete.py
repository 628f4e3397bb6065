"""The part of the Customer table's OnDelete trigger that refuses to delete a customer with history.

BC runs the trigger for an API DELETE as for the UI. It first calls MoveEntries.MoveCustEntries,
which refuses while the customer has ledger entries in a fiscal year that is not closed yet (the
sandbox closes no fiscal year, so any ledger entry counts); then it refuses while a sales line of
any document still names the customer as sell-to or bill-to customer:

  "You cannot delete Customer C00010 because it has ledger entries in a fiscal year that has not
  been closed yet."
  "You cannot delete Customer C00010 because there is at least one outstanding Sales Invoice for
  this customer."

Both are AL `Error` calls, which the API reports as 400 `Application_DialogException`.

The sandbox holds no ledger entry table; what stands for them: a posted invoice (status Open,
Paid, Canceled or Corrective: posting wrote customer ledger entries) billed to or sold to the
customer, or a non-zero ledger figure (balance, balance due, sales). Outstanding sales lines: the
lines of a draft invoice of the customer, and the order figures (outstanding orders, shipped not
invoiced), which are sums over order lines that the seed does not write as documents.
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.bc import tables as t
from sandbox.bc.errors import BCError
from sandbox.storage.repository import Row, UnitOfWork

_LEDGER_FIGURES = ("balanceLCY", "balanceDue", "salesLCY")
_ORDER_FIGURES = ("outstandingOrdersLCY", "shippedNotInvoicedLCY")
LEDGER_ENTRIES = "because it has ledger entries in a fiscal year that has not been closed yet"
OUTSTANDING = "because there is at least one outstanding Sales {} for this customer"


def _refusal(customer: Row, reason: str) -> BCError:
    message = f"You cannot delete Customer {customer['number']} {reason}"
    return BCError(400, "Application_DialogException", message)


def _invoices(work: UnitOfWork, customer: Row, company: str) -> list[Row]:
    """The customer's invoices as sell-to or bill-to customer (each once)."""
    found: dict[str, Row] = {}
    for field in ("customerId", "billToCustomerId"):
        for invoice in work.find(t.SALES_INVOICE, {field: customer["id"]}, company=company):
            found[invoice["id"]] = invoice
    return list(found.values())


def check_delete(work: UnitOfWork, customer: Row, company: str) -> None:
    """Raise BC's error when the customer cannot be deleted; return when it can."""
    invoices = _invoices(work, customer, company)
    if any(invoice.get("status") in t.POSTED_STATUSES for invoice in invoices) or any(
        Decimal(customer.get(name) or 0) != 0 for name in _LEDGER_FIGURES
    ):
        raise _refusal(customer, LEDGER_ENTRIES)
    if any(Decimal(customer.get(name) or 0) != 0 for name in _ORDER_FIGURES):
        raise _refusal(customer, OUTSTANDING.format("Order"))
    for invoice in invoices:
        if work.find(t.SALES_INVOICE_LINE, {"documentId": invoice["id"]}, company=company):
            raise _refusal(customer, OUTSTANDING.format("Invoice"))
