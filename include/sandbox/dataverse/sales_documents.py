"""What Dataverse's sales-document logic does to invoices and their products, for what bcsync uses.

* An invoice's state and status go together: a status must belong to its state (Active: New,
  Partially Shipped, Billed, Booked, Installed; Paid: Complete, Partial; Canceled: Canceled).
* An invoice that is no longer Active (paid, canceled) is read-only: only its state can change, and
  no invoice product can be added to it or changed on it.
* An invoice product is either an existing product — which needs a unit and an invoice with a price
  list — or a write-in product (`isproductoverridden`) with a description and no product.
* Dataverse computes an invoice's totals from its products whenever one is written or deleted (unless
  the invoice's prices are locked): detail amount, line discounts, tax, amount less freight, total.
  A client that wants other totals (BC does) writes them after the products.

The real service runs this in its pricing engine and plug-ins; the messages here describe the same
refusals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.dataverse.errors import INVALID_ARGUMENT, bad_request
from sandbox.storage.repository import Row, UnitOfWork
from sandbox.storage.schema import EntitySchema

ACTIVE = 0
STATUSES_OF_STATE = {0: (1, 2, 4, 5, 6), 2: (100001, 100002), 3: (100003,)}
STATE_FIELDS = frozenset({"statecode", "statuscode"})


class SalesDocuments:
    """The checks and computed totals of one unit of work's invoice writes."""

    def __init__(self, work: UnitOfWork, schema_of: Any):
        self.work = work
        self.schema_of = schema_of  # logical name → EntitySchema

    def check(self, schema: EntitySchema, values: dict[str, Any], current: Row | None) -> None:
        """Refuse what Dataverse refuses before the write."""
        if schema.logical_name == "invoice":
            self._check_invoice(values, current)
        elif schema.logical_name == "invoicedetail":
            self._check_invoice_product({**_by_attribute(schema, current), **values})

    def after(self, schema: EntitySchema, row: Row) -> None:
        """The invoice's totals once one of its products is written or deleted."""
        invoice_id = _by_attribute(schema, row).get("invoiceid")
        if schema.logical_name == "invoicedetail" and invoice_id:
            self._recompute_totals(str(invoice_id))

    def _check_invoice(self, values: dict[str, Any], current: Row | None) -> None:
        if current is not None and current.get("statecode") != ACTIVE and set(values) - STATE_FIELDS:
            raise bad_request(
                "The invoice cannot be updated because it is not active: only its state can change.",
                INVALID_ARGUMENT,
            )
        if not STATE_FIELDS & values.keys():
            return
        state = values.get("statecode", (current or {}).get("statecode", ACTIVE))
        allowed = STATUSES_OF_STATE.get(state, ())
        if "statuscode" not in values and allowed:
            values["statuscode"] = allowed[0]  # a state set alone takes its default status
        if values.get("statuscode") not in allowed:
            raise bad_request(
                f"{values.get('statuscode')} is not a valid status code for state code {state} on invoice.",
                INVALID_ARGUMENT,
            )

    def _check_invoice_product(self, line: dict[str, Any]) -> None:
        invoice_id = line.get("invoiceid")
        invoice = self.work.get(self.schema_of("invoice"), invoice_id) if invoice_id else None
        if invoice is not None and invoice.get("statecode") != ACTIVE:
            raise bad_request(
                "Products cannot be added to or changed on an invoice that is not active.", INVALID_ARGUMENT
            )
        if line.get("productid"):
            if line.get("isproductoverridden"):
                raise bad_request("A write-in product cannot refer to an existing product.", INVALID_ARGUMENT)
            if not line.get("uomid"):
                raise bad_request("The unit is required for an existing product.", INVALID_ARGUMENT)
            if invoice is not None and not invoice.get("_pricelevelid_value"):
                raise bad_request("The price list of the invoice is required for an existing product.")
        elif not (line.get("isproductoverridden") and line.get("productdescription")):
            raise bad_request(
                "A write-in product (isproductoverridden) needs its productdescription, or give a productid.",
                INVALID_ARGUMENT,
            )

    def _recompute_totals(self, invoice_id: str) -> None:
        invoice_schema = self.schema_of("invoice")
        invoice = self.work.get(invoice_schema, invoice_id)
        if invoice is None or invoice.get("ispricelocked"):
            return
        lines = self.work.find(self.schema_of("invoicedetail"), {"invoiceid": invoice_id})
        discounts = _sum(lines, "manualdiscountamount") + _sum(lines, "volumediscountamount")
        detail = _sum(lines, "baseamount") - discounts
        tax = _sum(lines, "tax")
        less_freight = detail - _amount(invoice.get("discountamount"))
        self.work.update(
            invoice_schema,
            invoice_id,
            {
                "totallineitemamount": detail,
                "totallineitemdiscountamount": _sum(lines, "manualdiscountamount"),
                "totaltax": tax,
                "totalamountlessfreight": less_freight,
                "totalamount": less_freight + _amount(invoice.get("freightamount")) + tax,
            },
            as_system=True,
        )


def _by_attribute(schema: EntitySchema, row: Row | None) -> dict[str, Any]:
    """A stored row (keyed by column: `_invoiceid_value`) keyed by attribute name, as write values are."""
    if row is None:
        return {}
    names = {attribute.column: attribute.name for attribute in schema.attributes}
    return {names.get(column, column): value for column, value in row.items()}


def _sum(rows: list[Row], name: str) -> Decimal:
    return sum((_amount(row.get(name)) for row in rows), Decimal(0))


def _amount(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)
