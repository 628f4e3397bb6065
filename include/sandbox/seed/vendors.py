"""Vendors, side-neutral: the company's suppliers in BC and the vendor accounts Sales keeps.

About one vendor per five customers (at least five once there are customers at all). Each vendor
gets a coupling role: SHARED vendors already exist in Sales as an account of relationship type
Vendor with the same name and city (match-based coupling on name + city couples them), BC_ONLY ones
have no such account. Sales also has vendor accounts BC does not know, among them one with a BC
vendor's name in another city, which a name + city match must leave alone.

Vendors come from their own random streams ("vendors", "vendor-names"), so seeding them leaves the
customers, accounts and contacts generated before them exactly as they were. Their names end with a
word of `VENDOR_FORMS`, which no customer name ends with, so a vendor never matches a customer.
Generation runs a chunk of vendors at a time, each chunk from its own stream, like the customers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from sandbox.seed import bc_reference, catalog
from sandbox.seed.customers import Account, Company, Role, dataverse_currency, make_company
from sandbox.seed.determinism import SeedSource, moment, money
from sandbox.seed.names import CompanyNames, person, pick_country
from sandbox.seed.vocabulary import CANADA, UNITED_KINGDOM, US, VENDOR_FORMS, Country

CUSTOMERS_PER_VENDOR = 5
MIN_VENDORS = 5  # the smallest seeds still show every kind of vendor
VENDOR_CHUNK_SIZE = 2_000  # vendors per generated chunk (fixed: the random streams depend on it)
SHARED_SHARE = 0.40  # generated vendors that already exist as a vendor account in Sales
DATAVERSE_ONLY_SHARE = 0.25  # extra vendor accounts (per generated vendor) that exist only in Sales
PURCHASER_SHARE = 0.6  # vendors with a purchaser code
BLOCKED_SHARE = 0.05
IRS_1099_CODES = ("NEC-01", "MISC-01")  # US 1099 form boxes: nonemployee compensation, rents


@dataclass(frozen=True)
class Vendor:
    index: int
    number: str
    role: Role  # SHARED or BC_ONLY
    company: Company
    contact: str  # Vendor.Contact: a name only (the vendors have no contact records)
    purchaser: catalog.Salesperson | None  # Purchaser Code; None = blank
    currency: str  # "" = LCY
    payment_terms: str
    shipment_method: str
    shipping_agent: str
    irs_1099_code: str
    tax_liable: bool
    blocked: str  # " ", "Payment" or "All"
    balance: Decimal  # Balance (LCY): what the company owes the vendor
    modified: datetime
    account: Account | None = None  # the matching vendor account in Sales (SHARED only)


@dataclass
class VendorChunk:
    vendors: list[Vendor] = field(default_factory=list)
    dataverse_only: list[Account] = field(default_factory=list)  # vendor accounts BC does not know


@dataclass(frozen=True)
class ShowcaseVendor:
    """A fixed vendor: CRONUS USA's own, each making a point about the VENDOR mapping."""

    name: str
    role: Role
    purchaser: str  # a salesperson/purchaser code, "" = none
    blocked: str = " "


SHOWCASE_VENDORS: tuple[ShowcaseVendor, ...] = (
    ShowcaseVendor("Fabrikam, Inc.", Role.SHARED, purchaser="AH"),
    ShowcaseVendor("First Up Consultants", Role.SHARED, purchaser=""),  # blank purchaser: owner unchanged
    ShowcaseVendor("Graphic Design Institute", Role.BC_ONLY, purchaser="BC"),  # purchaser not in Sales
    ShowcaseVendor("Wide World Importers", Role.SHARED, purchaser="JO"),
    ShowcaseVendor("Nod Publishers", Role.BC_ONLY, purchaser="PS", blocked="Payment"),  # outside the filter
)
# Vendor accounts made in Sales that BC does not know. The second has the name of a BC vendor but is
# another company in another country: a match on name + city must not couple it.
SHOWCASE_SALES_VENDORS: tuple[tuple[str, Country], ...] = (
    ("Proseware, Inc.", US),
    ("Graphic Design Institute", CANADA),
    ("Lucerne Publishing", UNITED_KINGDOM),
)


def vendor_count(customers: int) -> int:
    """How many vendors a seed of `customers` customers has."""
    return 0 if customers <= 0 else max(MIN_VENDORS, customers // CUSTOMERS_PER_VENDOR)


def vendor_number(index: int) -> str:
    return f"V{(index + 1) * 10:05d}"


class VendorFactory:
    """Builds vendors and vendor accounts chunk by chunk from a seed."""

    def __init__(self, source: SeedSource, *, salespeople: tuple[catalog.Salesperson, ...]) -> None:
        self._source = source
        self._names = CompanyNames(source.stream("vendor-names"), forms=VENDOR_FORMS)
        self._purchasers = catalog.assignable(salespeople)
        self._by_code = {p.code: p for p in self._purchasers}
        self._dataverse_users = tuple(
            p for p in salespeople if p.on_dataverse and not p.disabled and p.licensed
        )

    def chunks(self, vendors: int) -> Iterator[VendorChunk]:
        for start in range(0, vendors, VENDOR_CHUNK_SIZE):
            yield self.chunk(start, min(vendors, start + VENDOR_CHUNK_SIZE))

    def chunk(self, start: int, stop: int) -> VendorChunk:
        rng = self._source.stream("vendors", start // VENDOR_CHUNK_SIZE)
        chunk = VendorChunk()
        for index in range(start, stop):
            chunk.vendors.append(self._vendor(rng, index))
            if index >= len(SHOWCASE_VENDORS) and rng.random() < DATAVERSE_ONLY_SHARE:
                name = self._names.name(2 * index + 1)
                chunk.dataverse_only.append(self._sales_vendor(rng, f"vd{index}", name, pick_country(rng)))
        if start == 0:
            chunk.dataverse_only[:0] = [
                self._sales_vendor(rng, f"vs{position}", name, country)
                for position, (name, country) in enumerate(SHOWCASE_SALES_VENDORS)
            ]
        return chunk

    def _vendor(self, rng: random.Random, index: int) -> Vendor:
        showcase = SHOWCASE_VENDORS[index] if index < len(SHOWCASE_VENDORS) else None
        if showcase is not None:
            name, role, country = showcase.name, showcase.role, US
            purchaser = self._by_code.get(showcase.purchaser)
            blocked = showcase.blocked
        else:
            name, country = self._names.name(2 * index), pick_country(rng)
            role = Role.SHARED if rng.random() < SHARED_SHARE else Role.BC_ONLY
            purchaser = rng.choice(self._purchasers) if rng.random() < PURCHASER_SHARE else None
            blocked = rng.choice(("Payment", "All")) if rng.random() < BLOCKED_SHARE else " "
        company = make_company(rng, name, country)
        vendor = Vendor(
            index=index,
            number=vendor_number(index),
            role=role,
            company=company,
            contact=person(rng).full_name,
            purchaser=purchaser,
            currency=country.currency,
            payment_terms=rng.choice(catalog.PAYMENT_TERMS)[0],
            shipment_method=rng.choice(catalog.SHIPMENT_METHODS)[0],
            shipping_agent=rng.choice(bc_reference.SHIPPING_AGENTS).code if rng.random() < 0.5 else "",
            irs_1099_code=rng.choice(IRS_1099_CODES) if country is US and rng.random() < 0.3 else "",
            tax_liable=country is US and rng.random() < 0.9,
            blocked=blocked,
            balance=money(rng.uniform(100, 25_000)) if rng.random() < 0.6 else Decimal(0),
            modified=moment(rng),
        )
        if role is not Role.SHARED:
            return vendor
        owner = purchaser if purchaser is not None and purchaser.on_dataverse else self._dataverse_users[0]
        account = Account(
            key=f"v{index}",
            company=company,
            owner=owner,
            currency=dataverse_currency(vendor.currency),
            credit_limit=None,
            persons=(),
            modified=moment(rng),
            vendor=True,
            contact_name=vendor.contact,
        )
        return replace(vendor, account=account)

    def _sales_vendor(self, rng: random.Random, key: str, name: str, country: Country) -> Account:
        return Account(
            key=key,
            company=make_company(rng, name, country),
            owner=rng.choice(self._dataverse_users),
            currency=dataverse_currency(country.currency),
            credit_limit=None,
            persons=(),
            modified=moment(rng),
            inactive=rng.random() < 0.05,
            vendor=True,
            contact_name=person(rng).full_name,
        )
