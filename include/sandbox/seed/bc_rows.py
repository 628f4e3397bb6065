"""Business Central rows of the seed data, keyed by the attribute names of `sandbox.bc` tables.

Pure functions: side-neutral records in, row dicts out. Ids are name-derived GUIDs, so a customer's
`id` is the same whichever chunk or run produces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.bc import numbering
from sandbox.seed import bc_reference, catalog
from sandbox.seed.customers import ContactPerson, Customer, Invoice, InvoiceLine
from sandbox.seed.determinism import EPOCH, WORK_DATE, SeedSource, moment
from sandbox.seed.vendors import Vendor

Row = dict[str, Any]
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


class BusinessCentralRows:
    """Turns catalog and customer records into rows of the BC tables."""

    def __init__(self, source: SeedSource) -> None:
        self._source = source
        self._reference_time = source.stream("bc-reference")

    def id(self, table: str, key: object) -> str:
        return self._source.guid(f"bc/{table}", key)

    def _modified(self) -> Any:
        return moment(self._reference_time, newest_days_ago=400)

    # -- reference tables ----------------------------------------------------------------------

    def currencies(self) -> list[Row]:
        return [
            {
                "id": self.id("currency", currency.code),
                "code": currency.code,
                "displayName": currency.name,
                "symbol": currency.symbol,
                "amountDecimalPlaces": "0:0" if currency.code == "JPY" else "2:2",
                "isoCode": currency.code,
                "lastModifiedDateTime": self._modified(),
            }
            for currency in catalog.CURRENCIES
            if currency.on_bc
        ]

    def salespeople(self, people: Iterable[catalog.Salesperson]) -> list[Row]:
        return [
            {
                "id": self.id("salesperson", person.code),
                "code": person.code,
                "displayName": person.name,
                "email": person.email,
                "phoneNo": person.phone,
                "jobTitle": person.job_title,
                "commisionPercent": 2.5,
                "lastModifiedDateTime": self._modified(),
            }
            for person in people
            if person.on_bc
        ]

    def units(self) -> list[Row]:
        return [
            {
                "id": self.id("unitOfMeasure", unit.code),
                "code": unit.code,
                "displayName": unit.description,
                "internationalStandardCode": unit.international_code,
                "symbol": unit.code.lower(),
                "lastModifiedDateTime": self._modified(),
            }
            for unit in catalog.UNITS
        ]

    def items(self, items: Iterable[catalog.Item], vendors: Sequence[str] = ()) -> list[Row]:
        """Items; every fifth one (from the second) is bought from one of `vendors` (Vendor No.)."""
        return [
            {
                "id": self.id("item", item.number),
                "number": item.number,
                "displayName": item.description,
                "type": "Inventory",
                "blocked": item.blocked,
                "inventory": item.inventory,
                "unitPrice": item.unit_price,
                "unitCost": item.unit_cost,
                "baseUnitOfMeasureId": self.id("unitOfMeasure", item.base_unit)
                if item.base_unit
                else EMPTY_GUID,
                "baseUnitOfMeasureCode": item.base_unit,
                "unitVolume": item.unit_volume,
                "grossWeight": item.gross_weight,
                "vendorNo": vendors[position // 5 % len(vendors)] if vendors and position % 5 == 1 else "",
                "lastModifiedDateTime": self._modified(),
            }
            for position, item in enumerate(items)
        ]

    def resources(self) -> list[Row]:
        return [
            {
                "id": self.id("resource", resource.number),
                "no": resource.number,
                "type": "Machine" if resource.number == "LIFT" else "Person",
                "name": resource.name,
                "searchName": resource.name.upper(),
                "baseUnitOfMeasure": resource.base_unit,
                "unitCost": resource.unit_cost,
                "unitPrice": resource.unit_price,
                "capacity": resource.capacity,
                "lastModifiedDateTime": self._modified(),
            }
            for resource in catalog.RESOURCES
        ]

    def price_groups(self) -> list[Row]:
        return [
            {
                "id": self.id("customerPriceGroup", group.code),
                "code": group.code,
                "description": group.description,
                "lastModifiedDateTime": self._modified(),
            }
            for group in catalog.PRICE_GROUPS
        ]

    def sales_prices(self, prices: Iterable[catalog.SalesPrice]) -> list[Row]:
        return [
            {
                "id": self.id("salesPrice", f"{price.group}/{price.item}"),
                "itemNo": price.item,
                "salesType": "Customer Price Group",
                "salesCode": price.group,
                "currencyCode": price.currency,
                "unitOfMeasureCode": price.unit,
                "unitPrice": price.unit_price,
                "lastModifiedDateTime": self._modified(),
            }
            for price in prices
        ]

    def exchange_rates(self) -> list[Row]:
        """Currency Exchange Rate rows (relational currency blank = LCY); none for CHF."""
        return [
            {
                "id": self.id("currencyExchangeRate", f"{rate.currency}/{rate.starting_date.isoformat()}"),
                "currencyCode": rate.currency,
                "startingDate": rate.starting_date,
                "exchangeRateAmount": rate.amount,
                "relationalExchangeRateAmount": rate.relational_amount,
                "lastModifiedDateTime": self._modified(),
            }
            for rate in bc_reference.exchange_rates()
        ]

    def payment_terms(self) -> list[Row]:
        rows = []
        for code, description, _ in catalog.PAYMENT_TERMS:
            formula = bc_reference.PAYMENT_TERMS_FORMULAS[code]
            rows.append(
                {
                    "id": self.id("paymentTerm", code),
                    "code": code,
                    "displayName": description,
                    "dueDateCalculation": formula.due,
                    "discountDateCalculation": formula.discount,
                    "discountPercent": formula.discount_percent,
                    "lastModifiedDateTime": self._modified(),
                }
            )
        return rows

    def shipment_methods(self) -> list[Row]:
        return [
            {
                "id": self.id("shipmentMethod", code),
                "code": code,
                "displayName": description,
                "lastModifiedDateTime": self._modified(),
            }
            for code, description in catalog.SHIPMENT_METHODS
        ]

    def shipping_agents(self) -> list[Row]:
        return [
            {
                "id": self.id("shippingAgent", agent.code),
                "code": agent.code,
                "name": agent.name,
                "internetAddress": agent.internet_address,
                "lastModifiedDateTime": self._modified(),
            }
            for agent in bc_reference.SHIPPING_AGENTS
        ]

    def config_templates(self) -> tuple[list[Row], list[Row]]:
        """Config. Template Headers and their lines."""
        headers, lines = [], []
        for template in bc_reference.CONFIG_TEMPLATES:
            headers.append(
                {
                    "id": self.id("configTemplateHeader", template.code),
                    "code": template.code,
                    "description": template.description,
                    "tableId": template.table_id,
                    "tableName": template.table_name,
                    "lastModifiedDateTime": self._modified(),
                }
            )
            for number, (field_id, field_name, value) in enumerate(template.lines, start=1):
                lines.append(
                    {
                        "id": self.id("configTemplateLine", (template.code, number)),
                        "dataTemplateCode": template.code,
                        "lineNo": number * 10000,
                        "tableId": template.table_id,
                        "fieldId": field_id,
                        "fieldName": field_name,
                        "defaultValue": value,
                        "lastModifiedDateTime": self._modified(),
                    }
                )
        return headers, lines

    def number_series(self, last_used: dict[str, str]) -> list[Row]:
        """BC's series (`sandbox.bc.numbering`) for tables the seed numbered, left at its last number,
        so records the API creates later continue after the seed data."""
        rows = []
        for table, last in last_used.items():
            series = numbering.SERIES[table]
            rows.append(
                {
                    "id": self.id("noSeries", series.code),
                    "code": series.code,
                    "description": series.description,
                    "startingNo": series.starting_no,
                    "lastNoUsed": last,
                    "incrementByNo": series.increment_by,
                    "lastModifiedDateTime": EPOCH,
                }
            )
        return rows

    # -- customers ---------------------------------------------------------------------------

    def customer(self, customer: Customer) -> Row:
        company, place, figures = customer.company, customer.company.address, customer.figures
        primary = next((p for p in customer.persons if p.on_bc), None)
        return {
            "id": self.id("customer", customer.number),
            "number": customer.number,
            "displayName": company.name,
            "type": "Company",
            "addressLine1": place.line1,
            "addressLine2": place.line2,
            "city": place.city,
            "state": place.county,
            "country": place.country,
            "postalCode": place.post_code,
            "phoneNumber": place.phone,
            "email": company.email,
            "website": company.website,
            "salespersonCode": customer.salesperson.code,
            "balanceDue": figures.balance,
            "creditLimit": customer.credit_limit,
            "taxLiable": customer.tax_liable,
            "currencyId": self.id("currency", customer.currency) if customer.currency else EMPTY_GUID,
            "currencyCode": customer.currency,
            "blocked": customer.blocked,
            "contact": primary.person.full_name if primary else "",
            "faxNo": company.fax,
            "primaryContactNo": primary.number if primary else "",
            "shipmentMethodCode": customer.shipment_method,
            "paymentTermsCode": customer.payment_terms,
            **self._terms_ids(customer),
            "customerPriceGroup": customer.price_group,
            "balanceLCY": figures.balance,
            "outstandingOrdersLCY": figures.outstanding_orders,
            "shippedNotInvoicedLCY": figures.shipped_not_invoiced,
            "outstandingInvoicesLCY": figures.outstanding_invoices,
            "totalAmountLCY": figures.total,
            "overdueAmountsLCY": figures.overdue,
            "overdueAmountsAsOf": WORK_DATE,
            "salesLCY": figures.sales,
            # The seed's ledger activity happened when the customer was last modified.
            "lastActivityDateTime": customer.modified,
            "lastModifiedDateTime": customer.modified,
        }

    def vendor(self, vendor: Vendor) -> Row:
        company, place = vendor.company, vendor.company.address
        return {
            "id": self.id("vendor", vendor.number),
            "number": vendor.number,
            "displayName": company.name,
            "addressLine1": place.line1,
            "addressLine2": place.line2,
            "city": place.city,
            "state": place.county,
            "country": place.country,
            "postalCode": place.post_code,
            "phoneNumber": place.phone,
            "email": company.email,
            "website": company.website,
            "currencyId": self.id("currency", vendor.currency) if vendor.currency else EMPTY_GUID,
            "currencyCode": vendor.currency,
            "irs1099Code": vendor.irs_1099_code,
            "paymentTermsId": self._code_id("paymentTerm", vendor.payment_terms),
            "taxLiable": vendor.tax_liable,
            "blocked": vendor.blocked,
            "balance": vendor.balance,
            "purchaserCode": vendor.purchaser.code if vendor.purchaser else "",
            "contact": vendor.contact,
            "faxNo": company.fax,
            "shippingAgentCode": vendor.shipping_agent,
            "shipmentMethodCode": vendor.shipment_method,
            "paymentTermsCode": vendor.payment_terms,
            "lastModifiedDateTime": vendor.modified,
        }

    def business_relation(self, customer: Customer) -> Row:
        """The Contact Business Relation tying the company contact to its customer (BC's CONTACT
        rule finds a person's customer through its company's relation)."""
        return {
            "id": self.id("contactBusinessRelation", customer.number),
            "contactNo": customer.contact_number,
            "businessRelationCode": bc_reference.CUSTOMER_BUSINESS_RELATION,
            "linkToTable": "Customer",
            "no": customer.number,
            "lastModifiedDateTime": customer.modified,
        }

    def contacts(self, customer: Customer) -> list[Row]:
        company, place = customer.company, customer.company.address
        shared = {
            "companyNumber": customer.contact_number,
            "companyName": company.name,
            "contactBusinessRelation": "Customer",
            "addressLine1": place.line1,
            "addressLine2": place.line2,
            "city": place.city,
            "state": place.county,
            "country": place.country,
            "postalCode": place.post_code,
            "salespersonCode": customer.salesperson.code,
            "currencyCode": customer.currency,
            "lastModifiedDateTime": customer.modified,
        }
        rows = [
            {
                **shared,
                "id": self.id("contact", customer.contact_number),
                "number": customer.contact_number,
                "type": "Company",
                "displayName": company.name,
                "searchName": company.name.upper(),
                "phoneNumber": place.phone,
                "email": company.email,
                "website": company.website,
                "faxNo": company.fax,
            }
        ]
        rows.extend(self._person(shared, person) for person in customer.persons if person.on_bc)
        return rows

    def _person(self, shared: Row, contact: ContactPerson) -> Row:
        who = contact.person
        return {
            **shared,
            "id": self.id("contact", contact.number),
            "number": contact.number,
            "type": "Person",
            "displayName": who.full_name,
            "searchName": who.full_name.upper(),
            "jobTitle": contact.job_title,
            "firstName": who.first,
            "middleName": who.middle,
            "surname": who.last,
            "phoneNumber": contact.phone,
            "mobilePhoneNumber": contact.mobile,
            "email": contact.email,
        }

    def _terms_ids(self, customer: Customer) -> Row:
        """The `...Id` twins of the payment terms and shipment method codes, as BC keeps them."""
        return {
            "paymentTermsId": self._code_id("paymentTerm", customer.payment_terms),
            "shipmentMethodId": self._code_id("shipmentMethod", customer.shipment_method),
        }

    def _code_id(self, table: str, code: str) -> str:
        return self.id(table, code) if code else EMPTY_GUID

    def invoices(self, customer: Customer) -> tuple[list[Row], list[Row]]:
        headers, lines = [], []
        for invoice in customer.invoices:
            headers.append(self._invoice(customer, invoice))
            invoice_id = headers[-1]["id"]
            lines.extend(self._line(invoice_id, invoice, line) for line in invoice.lines)
        return headers, lines

    def _invoice(self, customer: Customer, invoice: Invoice) -> Row:
        company, place = customer.company, customer.company.address
        customer_id = self.id("customer", customer.number)
        row: Row = {
            "id": self.id("salesInvoice", invoice.number),
            "number": invoice.number,
            "invoiceDate": invoice.invoice_date,
            "postingDate": invoice.invoice_date,
            "dueDate": invoice.due_date,
            "customerId": customer_id,
            "customerNumber": customer.number,
            "customerName": company.name,
            "billToName": company.name,
            "billToCustomerId": customer_id,
            "billToCustomerNumber": customer.number,
            "shipToName": company.name,
            "currencyId": self.id("currency", invoice.currency) if invoice.currency else EMPTY_GUID,
            "currencyCode": invoice.currency,
            "currencyFactor": currency_factor(invoice.currency),
            "salesperson": customer.salesperson.code,
            "remainingAmount": invoice.remaining,
            "totalAmountExcludingTax": invoice.amount,
            "totalTaxAmount": invoice.tax,
            "totalAmountIncludingTax": invoice.amount_including_tax,
            "status": invoice.status,
            "phoneNumber": place.phone,
            "email": company.email,
            "shipmentDate": invoice.invoice_date - timedelta(days=1),
            "shipmentMethodCode": customer.shipment_method,
            "paymentTermsCode": customer.payment_terms,
            **self._terms_ids(customer),
            "lastModifiedDateTime": invoice.modified,
        }
        for prefix in ("sellTo", "billTo", "shipTo"):
            row.update(
                {
                    f"{prefix}AddressLine1": place.line1,
                    f"{prefix}AddressLine2": place.line2,
                    f"{prefix}City": place.city,
                    f"{prefix}State": place.county,
                    f"{prefix}Country": place.country,
                    f"{prefix}PostCode": place.post_code,
                }
            )
        return row

    def _line(self, invoice_id: str, invoice: Invoice, line: InvoiceLine) -> Row:
        amount_including_tax = line.amount + line.tax
        return {
            "id": self.id("salesInvoiceLine", f"{invoice.number}/{line.sequence}"),
            "documentId": invoice_id,
            "sequence": line.sequence,
            "itemId": self.id("item", line.number) if line.kind == "Item" else EMPTY_GUID,
            "lineType": line.kind,
            "lineObjectNumber": line.number,
            "description": line.description,
            "unitOfMeasureId": self.id("unitOfMeasure", line.unit),
            "unitOfMeasureCode": line.unit,
            "quantity": line.quantity,
            "unitPrice": line.unit_price,
            "discountAmount": line.discount_amount,
            "discountPercent": line.discount_percent,
            "amountExcludingTax": line.amount,
            "taxPercent": line.tax_percent,
            "totalTaxAmount": line.tax,
            "amountIncludingTax": amount_including_tax,
            "netAmount": line.amount,
            "netTaxAmount": line.tax,
            "netAmountIncludingTax": amount_including_tax,
            "shipmentDate": invoice.invoice_date - timedelta(days=1),
            "lastModifiedDateTime": invoice.modified,
        }


def currency_factor(currency: str) -> Decimal:
    """BC's "Currency Factor" of a posted document: units of its currency per unit of LCY (0 for LCY)."""
    if not currency:
        return Decimal(0)
    return (Decimal(1) / catalog.lcy_rate(currency)).quantize(Decimal("0.000001"))
