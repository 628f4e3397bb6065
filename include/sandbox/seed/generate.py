"""The seed data as a stream of batches (table + rows), one group per transaction, with its summary.

Pure: nothing here touches a database, so tests can read every generated row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.seed import catalog
from sandbox.seed.bc_rows import BusinessCentralRows
from sandbox.seed.companies import CompanyRows
from sandbox.seed.customers import Chunk, Customer, CustomerFactory, Role
from sandbox.seed.dataverse_rows import DATAVERSE_PRODUCTS, DataverseRows
from sandbox.seed.determinism import SeedSource
from sandbox.seed.summary import CouplingStory, SeedSummary
from sandbox.seed.vendors import VendorChunk, VendorFactory, vendor_count
from sandbox.settings import SandboxSettings

Service = Literal["bc", "dataverse"]
DATAVERSE_INVOICE_SHARE = 10  # one in this many Dataverse-only accounts has an invoice made in Sales


@dataclass(frozen=True)
class Batch:
    service: Service
    table: str  # logical name
    rows: list[dict[str, Any]]


_DEFAULTS = SandboxSettings()


class SeedGenerator:
    """Generates the seed data for `customers` customers; `summary` is complete once all is read.

    `company_id` and `company_name` are the BC company's (its `bcbi_company` row in Dataverse).
    """

    def __init__(
        self,
        *,
        seed: int,
        customers: int,
        business_unit_id: str,
        company_id: str = _DEFAULTS.company_id,
        company_name: str = _DEFAULTS.company_name,
    ) -> None:
        if customers < 0:
            raise ValueError(f"customers must be >= 0, got {customers}")
        self.customers = customers
        source = SeedSource(seed)
        self._bc = BusinessCentralRows(source)
        self._dataverse = DataverseRows(source, business_unit_id=business_unit_id)
        self._salespeople = catalog.salespeople(source, customers)
        self._items = catalog.items(source, customers)
        self._factory = CustomerFactory(source, salespeople=self._salespeople, items=self._items)
        self._vendors = VendorFactory(source, salespeople=self._salespeople)
        self.vendors = vendor_count(customers)
        self._companies = CompanyRows(
            source,
            self._dataverse,
            company_id=company_id,
            company_name=company_name,
            owners=self._salespeople,
        )
        self._last_contact = self._last_draft = 0
        self._dataverse_invoices = 0
        self.summary = SeedSummary(seed=seed, customers=customers, coupling=_empty_stories())

    def transactions(self) -> Iterator[list[Batch]]:
        """Reference data, one group per customer chunk, one per vendor chunk, the BC companies in
        Dataverse, then the number series."""
        yield self._reference()
        for chunk in self._factory.chunks(self.customers):
            yield self._chunk(chunk)
        for vendors in self._vendors.chunks(self.vendors):
            yield self._vendor_chunk(vendors)
        yield self._companies_in_dataverse()
        yield self._closing()

    def batches(self) -> Iterator[Batch]:
        for group in self.transactions():
            yield from group

    # -- reference data ------------------------------------------------------------------------

    def _reference(self) -> list[Batch]:
        bc, dataverse = self._bc, self._dataverse
        schedules, units = dataverse.unit_groups()
        products, price_entries = dataverse.products(self._items)
        templates, template_lines = bc.config_templates()
        self._tell_reference_story()
        return self._counted(
            [
                Batch("bc", "currency", bc.currencies()),
                Batch("bc", "salespersonPurchaser", bc.salespeople(self._salespeople)),
                Batch("bc", "unitOfMeasure", bc.units()),
                Batch("bc", "item", bc.items(self._items)),
                Batch("bc", "resource", bc.resources()),
                Batch("bc", "customerPriceGroup", bc.price_groups()),
                Batch("bc", "salesPrice", bc.sales_prices(catalog.sales_prices(self._items))),
                Batch("bc", "currencyExchangeRate", bc.exchange_rates()),
                Batch("bc", "paymentTerm", bc.payment_terms()),
                Batch("bc", "shipmentMethod", bc.shipment_methods()),
                Batch("bc", "shippingAgent", bc.shipping_agents()),
                Batch("bc", "configTemplateHeader", templates),
                Batch("bc", "configTemplateLine", template_lines),
                Batch("dataverse", "systemuser", dataverse.users(self._salespeople)),
                Batch("dataverse", "transactioncurrency", dataverse.currencies()),
                Batch("dataverse", "uomschedule", schedules),
                Batch("dataverse", "uom", units),
                Batch("dataverse", "pricelevel", dataverse.price_lists()),
                Batch("dataverse", "product", products),
                Batch("dataverse", "productpricelevel", price_entries),
            ]
        )

    def _tell_reference_story(self) -> None:
        stories = self.summary.coupling
        for currency in catalog.CURRENCIES:
            if currency.code != catalog.LCY:  # the LCY is blank in BC and maps to the base currency
                _count(stories["CURRENCY"], on_bc=currency.on_bc, on_dataverse=currency.on_dataverse)
        for person in self._salespeople:
            in_filter = person.on_dataverse and not person.disabled and person.licensed
            _count(stories["SALESPEOPLE"], on_bc=person.on_bc, on_dataverse=in_filter)
        for unit in catalog.UNITS:
            _count(stories["UNIT OF MEASURE"], on_bc=True, on_dataverse=unit.on_dataverse)
        for item in self._items:
            _count(stories["ITEM-PRODUCT"], on_bc=True, on_dataverse=item.on_dataverse)
        for resource in catalog.RESOURCES:
            _count(stories["RESOURCE-PRODUCT"], on_bc=True, on_dataverse=resource.on_dataverse)
        for group in catalog.PRICE_GROUPS:
            _count(stories["CUSTPRCGRP-PRICE"], on_bc=True, on_dataverse=group.on_dataverse)
        stories["CUSTPRCGRP-PRICE"].dataverse_only += len(catalog.DATAVERSE_PRICE_LISTS)
        for _, _, kind, _ in DATAVERSE_PRODUCTS:
            stories["ITEM-PRODUCT" if kind == 1 else "RESOURCE-PRODUCT"].dataverse_only += 1

    # -- customers -----------------------------------------------------------------------------

    def _chunk(self, chunk: Chunk) -> list[Batch]:
        bc, dataverse = self._bc, self._dataverse
        customers, contacts, relations, invoices, lines = [], [], [], [], []
        accounts, persons, dv_invoices, dv_lines = [], [], [], []
        for customer in chunk.customers:
            customers.append(bc.customer(customer))
            contacts.extend(bc.contacts(customer))
            relations.append(bc.business_relation(customer))
            headers, invoice_lines = bc.invoices(customer)
            invoices.extend(headers)
            lines.extend(invoice_lines)
            for account in customer.accounts:
                row, account_contacts = dataverse.account(account)
                accounts.append(row)
                persons.extend(account_contacts)
            self._tell_customer_story(customer)
        self._companies.notice(chunk.customers)
        for account in chunk.dataverse_only:
            row, account_contacts = dataverse.account(account)
            accounts.append(row)
            persons.extend(account_contacts)
            self.summary.coupling["CUSTOMER"].dataverse_only += 1
            self.summary.coupling["CONTACT"].dataverse_only += len(account.persons)
            self._dataverse_invoices += 1
            if self._dataverse_invoices % DATAVERSE_INVOICE_SHARE == 0:
                header, detail = dataverse.invoice(account, self._dataverse_invoices)
                dv_invoices.append(header)
                dv_lines.extend(detail)
        return self._counted(
            [
                Batch("bc", "customer", customers),
                Batch("bc", "contact", contacts),
                Batch("bc", "contactBusinessRelation", relations),
                Batch("bc", "salesInvoice", invoices),
                Batch("bc", "salesInvoiceLine", lines),
                Batch("dataverse", "account", accounts),
                Batch("dataverse", "contact", persons),
                Batch("dataverse", "invoice", dv_invoices),
                Batch("dataverse", "invoicedetail", dv_lines),
            ]
        )

    def _tell_customer_story(self, customer: Customer) -> None:
        stories = self.summary.coupling
        story, contact_story = stories["CUSTOMER"], stories["CONTACT"]
        if customer.role is Role.SHARED:
            story.shared += 1
        elif customer.role is Role.AMBIGUOUS:
            story.ambiguous += 1  # its twin account is counted here too, not as Dataverse-only
        else:
            story.bc_only += 1
        for person in customer.persons:
            _count(contact_story, on_bc=True, on_dataverse=person.on_dataverse)
        for account in customer.accounts:
            contact_story.dataverse_only += sum(1 for person in account.persons if not person.on_bc)
        numbers = [int(customer.contact_number[2:])] + [int(p.number[2:]) for p in customer.persons]
        self._last_contact = max(self._last_contact, *numbers)
        for invoice in customer.invoices:
            if not invoice.posted:
                self._last_draft = max(self._last_draft, int(invoice.number.removeprefix("S-INV")))

    # -- vendors -------------------------------------------------------------------------------

    def _vendor_chunk(self, chunk: VendorChunk) -> list[Batch]:
        stories = self.summary.coupling
        vendors, accounts = [], []
        for vendor in chunk.vendors:
            vendors.append(self._bc.vendor(vendor))
            if vendor.account is not None:
                accounts.append(self._dataverse.account(vendor.account)[0])
            _count(stories["VENDOR"], on_bc=True, on_dataverse=vendor.account is not None)
        for account in chunk.dataverse_only:
            accounts.append(self._dataverse.account(account)[0])
            stories["VENDOR"].dataverse_only += 1
        # No customer has a vendor's name: for CUSTOMER every vendor account is one nothing matches.
        stories["CUSTOMER"].dataverse_only += len(accounts)
        return self._counted([Batch("bc", "vendor", vendors), Batch("dataverse", "account", accounts)])

    # -- companies -----------------------------------------------------------------------------

    def _companies_in_dataverse(self) -> list[Batch]:
        """The `bcbi_company` rows, and another company's rows, which no mapping's filter reads."""
        accounts, contacts = self._companies.other_company_records()
        return self._counted(
            [
                Batch("dataverse", "bcbi_company", self._companies.companies()),
                Batch("dataverse", "account", accounts),
                Batch("dataverse", "contact", contacts),
            ]
        )

    def _closing(self) -> list[Batch]:
        last_used: dict[str, str] = {}
        if self.customers:
            last_used["customer"] = f"C{self.customers * 10:05d}"
            last_used["contact"] = f"CT{self._last_contact:06d}"
        if self.vendors:
            last_used["vendor"] = f"V{self.vendors * 10:05d}"
        if self._last_draft:
            last_used["salesInvoice"] = f"S-INV{self._last_draft}"
        return self._counted([Batch("bc", "noSeries", self._bc.number_series(last_used))])

    def _counted(self, batches: list[Batch]) -> list[Batch]:
        for batch in batches:
            self.summary.count(batch.service, batch.table, len(batch.rows))
        return [batch for batch in batches if batch.rows]


_MATCH_KEYS = {
    "SALESPEOPLE": "Name = fullname, E-Mail = internalemailaddress",
    "CUSTOMER": "Name = name (case-insensitive)",
    "VENDOR": "Name, City = name, address1_city (vendor accounts)",
    "CONTACT": "First Name, Surname, E-Mail = firstname, lastname, emailaddress1",
    "CURRENCY": "Code = isocurrencycode",
    "UNIT OF MEASURE": "'NAV ' + Code = uomschedule name",
    "ITEM-PRODUCT": "No. = productnumber",
    "RESOURCE-PRODUCT": "No. = productnumber",
    "CUSTPRCGRP-PRICE": "Code = pricelevel name",
}


def _empty_stories() -> dict[str, CouplingStory]:
    return {mapping: CouplingStory(match_on=keys) for mapping, keys in _MATCH_KEYS.items()}


def _count(story: CouplingStory, *, on_bc: bool, on_dataverse: bool) -> None:
    if on_bc and on_dataverse:
        story.shared += 1
    elif on_bc:
        story.bc_only += 1
    elif on_dataverse:
        story.dataverse_only += 1
