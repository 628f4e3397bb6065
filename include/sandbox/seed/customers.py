"""The customer base, side-neutral: who exists in BC, in Dataverse or in both, with contacts and invoices.

Each BC customer gets a coupling role (see `Role`); the first customers are fixed showcase records
with real-world awkwardness. Customers are generated a chunk at a time, each chunk from its own
random stream, so memory stays bounded at any size (invoice numbers run on from chunk to chunk).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sandbox.seed import catalog
from sandbox.seed.determinism import WORK_DATE, SeedSource, moment, money
from sandbox.seed.names import (
    Address,
    CompanyNames,
    Person,
    address,
    company_domain,
    email,
    person,
    pick_country,
)
from sandbox.seed.vocabulary import US, Country

CHUNK_SIZE = 2_000  # customers per generated chunk (fixed: the random streams depend on it)
SHARED_SHARE = 0.30  # customers that already exist as an account with the same name
AMBIGUOUS_SHARE = 0.02  # customers whose name two accounts carry
DATAVERSE_ONLY_SHARE = 0.20  # extra accounts (per customer) that exist only in Dataverse
BLOCKED_SHARE = 0.02
PERSONS_PER_COMPANY = (0, 1, 2, 3)
PERSON_WEIGHTS = (20, 35, 30, 15)
INVOICES_PER_CUSTOMER = (0, 1, 2, 3)
INVOICE_WEIGHTS = (55, 25, 13, 7)
DRAFT_SHARE = 0.04  # customers with an unposted draft invoice as well
LONG_NAME_LENGTH = 100  # BC Customer.Name is Text[100]


class Role(StrEnum):
    """Where a customer exists before bcsync's first full synchronization."""

    SHARED = "shared"  # BC customer + one account with the same name: match-based coupling couples it
    AMBIGUOUS = "ambiguous"  # BC customer + two accounts with that name: must not be coupled
    BC_ONLY = "bc_only"  # nothing in Dataverse matches: full sync creates the account


@dataclass(frozen=True)
class Company:
    """What a customer and its account have in common."""

    name: str
    address: Address
    email: str
    website: str
    fax: str


@dataclass(frozen=True)
class ContactPerson:
    key: str  # stable identity across both sides, e.g. "c17/2"
    number: str  # BC contact No. ("" when only in Dataverse)
    person: Person
    job_title: str
    email: str
    phone: str
    mobile: str
    on_bc: bool
    on_dataverse: bool


@dataclass(frozen=True)
class InvoiceLine:
    sequence: int
    kind: str  # "Item" / "Resource"
    number: str
    description: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    amount: Decimal  # excluding tax
    tax_percent: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Invoice:
    number: str
    posted: bool
    invoice_date: date
    due_date: date
    currency: str
    lines: tuple[InvoiceLine, ...]
    paid: Decimal  # amount paid so far (posted invoices)
    modified: datetime

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), Decimal(0))

    @property
    def amount_including_tax(self) -> Decimal:
        return self.amount + self.tax

    @property
    def remaining(self) -> Decimal:
        return self.amount_including_tax - self.paid if self.posted else Decimal(0)

    @property
    def status(self) -> str:
        if not self.posted:
            return "Draft"
        return "Paid" if self.remaining == 0 else "Open"


@dataclass(frozen=True)
class LedgerFigures:
    """The Customer FlowFields the statistics job sends to nav_accountstatistics (all LCY)."""

    balance: Decimal
    outstanding_orders: Decimal
    shipped_not_invoiced: Decimal
    outstanding_invoices: Decimal
    overdue: Decimal
    sales: Decimal  # current fiscal year (the calendar year of the work date)

    @property
    def total(self) -> Decimal:
        return self.balance + self.outstanding_orders + self.shipped_not_invoiced + self.outstanding_invoices


@dataclass(frozen=True)
class Account:
    """A Dataverse account; `key` is its identity ("c<i>", "c<i>/twin", "d<i>", "s<n>"; vendor
    accounts "v<i>" and "vd<i>", see `sandbox.seed.vendors`)."""

    key: str
    company: Company
    owner: catalog.Salesperson
    currency: str  # ISO code of its transaction currency
    credit_limit: Decimal | None  # None: no credit limit (vendor accounts)
    persons: tuple[ContactPerson, ...]
    modified: datetime
    inactive: bool = False
    vendor: bool = False  # relationship type Vendor instead of Customer
    contact_name: str = ""  # primary contact name when the account has no contact records


@dataclass(frozen=True)
class Customer:
    index: int
    number: str
    role: Role
    company: Company
    contact_number: str  # the company contact
    salesperson: catalog.Salesperson
    currency: str  # "" = LCY
    price_group: str
    payment_terms: str
    shipment_method: str
    credit_limit: Decimal
    blocked: str
    tax_liable: bool
    persons: tuple[ContactPerson, ...]
    invoices: tuple[Invoice, ...]
    figures: LedgerFigures
    modified: datetime
    accounts: tuple[Account, ...] = ()  # what Dataverse holds for this customer (role-dependent)


@dataclass
class Chunk:
    """Customers [start, stop) and the Dataverse-only accounts generated alongside them."""

    customers: list[Customer] = field(default_factory=list)
    dataverse_only: list[Account] = field(default_factory=list)


@dataclass(frozen=True)
class Showcase:
    """A fixed customer that makes a point about real data."""

    name: str
    role: Role
    country: Country = US
    dataverse_name: str | None = None  # the account's spelling, when it differs
    blank_optionals: bool = False
    blocked: str = " "


_LONG_NAME = "Great Lakes Regional Hospital Purchasing Cooperative for Surgical, Dental & Diagnostic Supplies"
SHOWCASES: tuple[Showcase, ...] = (
    Showcase("Adatum Corporation", Role.SHARED),
    Showcase("Trey Research", Role.SHARED),
    Showcase("School of Fine Art", Role.BC_ONLY),
    Showcase("Alpine Ski House", Role.SHARED, dataverse_name="ALPINE SKI HOUSE"),  # matching ignores case
    Showcase("Relecloud", Role.AMBIGUOUS),
    Showcase("O'Brien & Co", Role.SHARED),
    Showcase("Société Générale des Cafés Müller", Role.SHARED),
    Showcase(_LONG_NAME.ljust(LONG_NAME_LENGTH, "."), Role.SHARED),
    Showcase("Nordic Bare Essentials", Role.SHARED, blank_optionals=True),
    Showcase("Blocked Imports Ltd.", Role.BC_ONLY, blocked="All"),
)
# Dynamics 365 Sales' own sample accounts: near misses of BC names that must not match.
SAMPLE_ACCOUNTS: tuple[str, ...] = (
    "Adatum Corporation (sample)",
    "Fourth Coffee (sample)",
    "Litware, Inc. (sample)",
    "Alpine Ski House (sample)",
    "Coho Winery (sample)",
)


def make_company(rng: random.Random, name: str, country: Country, *, blank: bool = False) -> Company:
    """A company's address and communication details; `blank` leaves out every optional one."""
    place = address(rng, country, with_second_line=not blank and rng.random() < 0.3)
    if blank:
        place = replace(place, phone="")
        return Company(name=name, address=place, email="", website="", fax="")
    domain = company_domain(name, rng)
    fax = place.phone[:-4] + f"{rng.randrange(10_000):04d}" if rng.random() < 0.25 else ""
    return Company(name=name, address=place, email=f"info@{domain}", website=f"www.{domain}", fax=fax)


def customer_number(index: int) -> str:
    return f"C{(index + 1) * 10:05d}"


def company_contact_number(index: int) -> str:
    return f"CT{(index + 1) * 10:06d}"


class CustomerFactory:
    """Builds customers chunk by chunk from a seed."""

    def __init__(
        self,
        source: SeedSource,
        *,
        salespeople: tuple[catalog.Salesperson, ...],
        items: tuple[catalog.Item, ...],
    ) -> None:
        self._source = source
        self._names = CompanyNames(source.stream("company-names"))
        self._salespeople = catalog.assignable(salespeople)
        self._dataverse_users = tuple(
            p for p in salespeople if p.on_dataverse and not p.disabled and p.licensed
        )
        self._items = tuple(item for item in items if not item.blocked)
        self._invoice_numbers = _Counter(103_001)
        self._draft_numbers = _Counter(100_001)

    def chunks(self, customers: int) -> Iterator[Chunk]:
        for start in range(0, customers, CHUNK_SIZE):
            yield self.chunk(start, min(customers, start + CHUNK_SIZE))

    def chunk(self, start: int, stop: int) -> Chunk:
        rng = self._source.stream("customers", start // CHUNK_SIZE)
        chunk = Chunk()
        if start == 0:
            chunk.dataverse_only.extend(self._sample_accounts(rng))
        for index in range(start, stop):
            chunk.customers.append(self._customer(rng, index))
            if rng.random() < DATAVERSE_ONLY_SHARE:
                chunk.dataverse_only.append(self._dataverse_only_account(rng, index))
        return chunk

    # -- customers ---------------------------------------------------------------------------

    def _customer(self, rng: random.Random, index: int) -> Customer:
        showcase = SHOWCASES[index] if index < len(SHOWCASES) else None
        if showcase is not None:
            role, country, name = showcase.role, showcase.country, showcase.name
        else:
            draw = rng.random()
            role = (
                Role.SHARED
                if draw < SHARED_SHARE
                else Role.AMBIGUOUS
                if draw < SHARED_SHARE + AMBIGUOUS_SHARE
                else Role.BC_ONLY
            )
            country, name = pick_country(rng), self._names.name(2 * index)
        blank = showcase is not None and showcase.blank_optionals
        company = self._company(rng, name, country, blank=blank)
        number = customer_number(index)
        # Most people at a shared company are already in Sales; some only in BC.
        share = 0.0 if role is Role.BC_ONLY else 0.6
        persons = (
            () if blank else self._persons(rng, f"c{index}", company, in_bc=index, dataverse_share=share)
        )
        invoices = self._invoices(rng, country.currency)
        blocked = showcase.blocked if showcase else ("All" if rng.random() < BLOCKED_SHARE else " ")
        customer = Customer(
            index=index,
            number=number,
            role=role,
            company=company,
            contact_number=company_contact_number(index),
            salesperson=rng.choice(self._salespeople),
            currency=country.currency,
            price_group=rng.choice(catalog.GROUPS_IN_USE).code if rng.random() < 0.4 else "",
            payment_terms=rng.choice(catalog.PAYMENT_TERMS)[0],
            shipment_method=rng.choice(catalog.SHIPMENT_METHODS)[0],
            credit_limit=Decimal(rng.choice((0, 0, 5_000, 10_000, 25_000, 50_000, 100_000))),
            blocked=blocked,
            tax_liable=country is US and rng.random() < 0.9,
            persons=persons,
            invoices=invoices,
            figures=_figures(rng, invoices),
            modified=moment(rng),
        )
        return replace(customer, accounts=self._accounts_of(rng, customer, showcase))

    def _company(self, rng: random.Random, name: str, country: Country, *, blank: bool) -> Company:
        return make_company(rng, name, country, blank=blank)

    def _persons(
        self,
        rng: random.Random,
        key: str,
        company: Company,
        *,
        in_bc: int | None = None,
        dataverse_share: float = 1.0,
        taken: tuple[ContactPerson, ...] = (),
    ) -> tuple[ContactPerson, ...]:
        """The people of a company. `in_bc` is the customer index when they are BC contacts (numbered
        right after the company contact: CT000010 → CT000011...); each is also in Dataverse with
        probability `dataverse_share`. E-mail addresses are unique per company (also against
        `taken`), so contacts never match ambiguously."""
        count = rng.choices(PERSONS_PER_COMPANY, weights=PERSON_WEIGHTS)[0]
        domain = company.website.removeprefix("www.") or "example.com"
        persons: list[ContactPerson] = []
        used = {p.email.lower() for p in taken}
        for position in range(count):
            who = person(rng)
            address_ = email(who, domain)
            if address_.lower() in used:
                continue
            used.add(address_.lower())
            persons.append(
                ContactPerson(
                    key=f"{key}/{position}",
                    number="" if in_bc is None else f"CT{(in_bc + 1) * 10 + position + 1:06d}",
                    person=who,
                    job_title=rng.choice(_JOB_TITLES),
                    email=address_,
                    phone=company.address.phone,
                    mobile=f"+1 555 {rng.randrange(1000):03d} {rng.randrange(10_000):04d}"
                    if rng.random() < 0.5
                    else "",
                    on_bc=in_bc is not None,
                    on_dataverse=rng.random() < dataverse_share,
                )
            )
        return tuple(persons)

    def _accounts_of(
        self, rng: random.Random, customer: Customer, showcase: Showcase | None
    ) -> tuple[Account, ...]:
        if customer.role is Role.BC_ONLY:
            return ()
        name = showcase.dataverse_name if showcase and showcase.dataverse_name else customer.company.name
        owner = customer.salesperson if customer.salesperson.on_dataverse else self._dataverse_users[0]
        first = Account(
            key=f"c{customer.index}",
            company=replace(customer.company, name=name),
            owner=owner,
            currency=dataverse_currency(customer.currency),
            credit_limit=customer.credit_limit,
            persons=tuple(p for p in customer.persons if p.on_dataverse)
            + self._dataverse_persons(rng, f"c{customer.index}/dv", customer.company, customer.persons),
            modified=moment(rng),
        )
        if customer.role is Role.SHARED:
            return (first,)
        # The twin has the same name but is another company: elsewhere, other phone, other people.
        twin_company = self._company(rng, customer.company.name, US, blank=False)
        twin = Account(
            key=f"c{customer.index}/twin",
            company=twin_company,
            owner=rng.choice(self._dataverse_users),
            currency=catalog.LCY,
            credit_limit=Decimal(0),
            persons=self._dataverse_persons(rng, f"c{customer.index}/twin", twin_company, customer.persons),
            modified=moment(rng),
        )
        return first, twin

    def _dataverse_persons(
        self, rng: random.Random, key: str, company: Company, taken: tuple[ContactPerson, ...]
    ) -> tuple[ContactPerson, ...]:
        """People only Sales knows, at about a third of the accounts."""
        if rng.random() >= 0.3:
            return ()
        return self._persons(rng, key, company, taken=taken)

    def _dataverse_only_account(self, rng: random.Random, index: int) -> Account:
        company = self._company(rng, self._names.name(2 * index + 1), pick_country(rng), blank=False)
        return Account(
            key=f"d{index}",
            company=company,
            owner=rng.choice(self._dataverse_users),
            currency=catalog.LCY,
            credit_limit=Decimal(rng.choice((0, 10_000, 20_000))),
            persons=self._persons(rng, f"d{index}", company),
            modified=moment(rng),
            inactive=rng.random() < 0.05,
        )

    def _sample_accounts(self, rng: random.Random) -> list[Account]:
        return [
            Account(
                key=f"s{position}",
                company=self._company(rng, name, US, blank=False),
                owner=self._dataverse_users[0],
                currency=catalog.LCY,
                credit_limit=Decimal(0),
                persons=(),
                modified=moment(rng),
            )
            for position, name in enumerate(SAMPLE_ACCOUNTS)
        ]

    # -- invoices ----------------------------------------------------------------------------

    def _invoices(self, rng: random.Random, currency: str) -> tuple[Invoice, ...]:
        count = rng.choices(INVOICES_PER_CUSTOMER, weights=INVOICE_WEIGHTS)[0]
        invoices = [self._invoice(rng, currency, posted=True) for _ in range(count)]
        if rng.random() < DRAFT_SHARE:
            invoices.append(self._invoice(rng, currency, posted=False))
        return tuple(invoices)

    def _invoice(self, rng: random.Random, currency: str, *, posted: bool) -> Invoice:
        age = rng.randint(1, 700) if posted else rng.randint(0, 20)
        invoice_date = WORK_DATE - timedelta(days=age)
        tax_percent = Decimal(rng.choice((0, 6, 7, 8))) if currency == "" else Decimal(0)
        lines = tuple(
            self._line(rng, sequence, currency, tax_percent) for sequence in range(1, rng.randint(1, 3) + 1)
        )
        total = sum((line.amount + line.tax for line in lines), Decimal(0))
        paid = Decimal(0)
        if posted:
            draw = rng.random()
            # Old invoices are mostly paid; some are partly paid or still open.
            paid = (
                total
                if draw < 0.6 or age > 400
                else (money(total * Decimal("0.4")) if draw < 0.7 else Decimal(0))
            )
        number = f"{self._invoice_numbers.take()}" if posted else f"S-INV{self._draft_numbers.take()}"
        return Invoice(
            number=number,
            posted=posted,
            invoice_date=invoice_date,
            due_date=invoice_date + timedelta(days=30),
            currency=currency,
            lines=lines,
            paid=paid,
            modified=moment(rng, newest_days_ago=max(0, age - 5), oldest_days_ago=age),
        )

    def _line(self, rng: random.Random, sequence: int, currency: str, tax_percent: Decimal) -> InvoiceLine:
        rate = catalog.lcy_rate(currency)
        if rng.random() < 0.85:
            item = rng.choice(self._items)
            kind, number, description, unit, price = (
                "Item",
                item.number,
                item.description,
                item.base_unit,
                item.unit_price,
            )
            quantity = Decimal(rng.randint(1, 12))
        else:
            resource = rng.choice(catalog.RESOURCES)
            kind, number, description, unit = "Resource", resource.number, resource.name, resource.base_unit
            price, quantity = resource.unit_price, Decimal(rng.randint(1, 16))
        unit_price = money(price / rate)
        discount_percent = Decimal(rng.choice((0, 0, 0, 5, 10)))
        gross = unit_price * quantity
        discount_amount = money(gross * discount_percent / 100)
        amount = money(gross - discount_amount)
        return InvoiceLine(
            sequence=sequence * 10_000,
            kind=kind,
            number=number,
            description=description,
            unit=unit,
            quantity=quantity,
            unit_price=unit_price,
            discount_percent=discount_percent,
            discount_amount=discount_amount,
            amount=amount,
            tax_percent=tax_percent,
            tax=money(amount * tax_percent / 100),
        )


_JOB_TITLES = (
    "Purchasing Manager",
    "CFO",
    "Office Manager",
    "Buyer",
    "Owner",
    "Accountant",
    "CEO",
    "Sales Rep",
)


class _Counter:
    def __init__(self, first: int) -> None:
        self._next = first

    def take(self) -> int:
        value, self._next = self._next, self._next + 1
        return value


def dataverse_currency(bc_code: str) -> str:
    """The account's currency: the matching ISO code when Dataverse has it, else the base currency."""
    currency = catalog.CURRENCY_BY_CODE[bc_code or catalog.LCY]
    return currency.code if currency.on_dataverse else catalog.LCY


def _figures(rng: random.Random, invoices: tuple[Invoice, ...]) -> LedgerFigures:
    """Ledger figures consistent with the customer's invoices; orders are not seeded as documents,
    so their figures are drawn for a few customers."""
    balance = overdue = sales = drafts = Decimal(0)
    for invoice in invoices:
        rate = catalog.lcy_rate(invoice.currency)
        if not invoice.posted:
            drafts += money(invoice.amount_including_tax * rate)
            continue
        remaining = money(invoice.remaining * rate)
        balance += remaining
        if invoice.due_date < WORK_DATE:
            overdue += remaining
        if invoice.invoice_date.year == WORK_DATE.year:
            sales += money(invoice.amount * rate)
    has_orders = rng.random() < 0.15
    return LedgerFigures(
        balance=balance,
        outstanding_orders=money(rng.uniform(100, 20_000)) if has_orders else Decimal(0),
        shipped_not_invoiced=money(rng.uniform(50, 5_000))
        if has_orders and rng.random() < 0.4
        else Decimal(0),
        outstanding_invoices=drafts,
        overdue=overdue,
        sales=sales,
    )
