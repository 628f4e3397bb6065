"""The company's reference data, side-neutral: currencies, salespeople, units, items, resources, prices.

Each record says on which side(s) it exists, which is the coupling story of the small tables: shared
records match on the criteria BC uses for that mapping (ISO code, name/e-mail, "NAV <code>", number).
The first records are CRONUS USA's own demo data; larger seeds add generated ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sandbox.seed import vocabulary as words
from sandbox.seed.determinism import SeedSource, money
from sandbox.seed.names import ascii_slug

LCY = "USD"
COMPANY_DOMAIN = "cronus.com"


@dataclass(frozen=True)
class Currency:
    code: str
    name: str
    symbol: str
    lcy_per_unit: Decimal | None  # BC exchange rate (LCY for 1 unit); None = no rate defined
    on_bc: bool
    on_dataverse: bool


# USD is the LCY (blank currency code in BC) and the Dataverse base currency. CHF has no exchange
# rate in BC (its sync must fail), NZD exists only in Dataverse, AUD/JPY/MXN only in BC.
CURRENCIES: tuple[Currency, ...] = (
    Currency("USD", "US Dollar", "$", Decimal(1), on_bc=False, on_dataverse=True),
    Currency("EUR", "Euro", "€", Decimal("1.0842"), on_bc=True, on_dataverse=True),
    Currency("GBP", "British Pound", "£", Decimal("1.2671"), on_bc=True, on_dataverse=True),
    Currency("CAD", "Canadian Dollar", "CA$", Decimal("0.7356"), on_bc=True, on_dataverse=True),
    Currency("MXN", "Mexican Peso", "MX$", Decimal("0.0583"), on_bc=True, on_dataverse=False),
    Currency("AUD", "Australian Dollar", "A$", Decimal("0.6612"), on_bc=True, on_dataverse=False),
    Currency("JPY", "Japanese Yen", "¥", Decimal("0.006712"), on_bc=True, on_dataverse=False),
    Currency("CHF", "Swiss Franc", "CHF", None, on_bc=True, on_dataverse=False),
    Currency("NZD", "New Zealand Dollar", "NZ$", Decimal("0.6085"), on_bc=False, on_dataverse=True),
)
CURRENCY_BY_CODE = {currency.code: currency for currency in CURRENCIES}


def lcy_rate(currency_code: str) -> Decimal:
    """LCY per unit of a BC currency code ('' is the LCY itself)."""
    rate = CURRENCY_BY_CODE[currency_code or LCY].lcy_per_unit
    return rate if rate is not None else Decimal(1)


@dataclass(frozen=True)
class Salesperson:
    """A BC salesperson and/or a Dataverse user (the SALESPEOPLE mapping runs Dataverse → BC)."""

    code: str  # BC code ("" when the user exists only in Dataverse)
    first_name: str
    last_name: str
    job_title: str
    phone: str
    on_bc: bool
    on_dataverse: bool
    disabled: bool = False  # Dataverse isdisabled (outside the SALESPEOPLE filter)
    licensed: bool = True

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def email(self) -> str:
        return f"{ascii_slug(self.first_name)}.{ascii_slug(self.last_name)}@{COMPANY_DOMAIN}"


_CRONUS_SALESPEOPLE: tuple[Salesperson, ...] = (
    Salesperson("JO", "Jim", "Olive", "Sales Manager", "+1 425 555 0101", on_bc=True, on_dataverse=True),
    Salesperson("PS", "Peter", "Saddow", "Account Manager", "+1 425 555 0102", on_bc=True, on_dataverse=True),
    Salesperson("OF", "Otis", "Falls", "Account Manager", "+1 425 555 0103", on_bc=True, on_dataverse=True),
    Salesperson("LT", "Lina", "Townsend", "Sales Director", "+1 425 555 0104", on_bc=True, on_dataverse=True),
    Salesperson("AH", "Annette", "Hill", "Account Manager", "+1 425 555 0105", on_bc=True, on_dataverse=True),
    Salesperson("BC", "Benjamin", "Chiu", "Inside Sales", "+1 425 555 0106", on_bc=True, on_dataverse=False),
    Salesperson(
        "RB", "Robin", "Bettencourt", "Key Accounts", "+1 425 555 0107", on_bc=True, on_dataverse=True
    ),
    Salesperson(
        "HR",
        "Helen",
        "Ray",
        "Account Manager",
        "+1 425 555 0108",
        on_bc=True,
        on_dataverse=True,
        disabled=True,
    ),
    Salesperson(
        "", "Renée", "Østergaard", "Sales Associate", "+1 425 555 0109", on_bc=False, on_dataverse=True
    ),
    Salesperson(
        "",
        "Marcus",
        "O'Neil",
        "Sales Trainee",
        "+1 425 555 0110",
        on_bc=False,
        on_dataverse=True,
        licensed=False,
    ),
)


SALES_MANAGER = _CRONUS_SALESPEOPLE[0]  # also the Dataverse administrator and the fallback owner


def person_key(person: Salesperson) -> str:
    """A salesperson's identity across both sides: the BC code, or the name for Dataverse-only users."""
    return person.code or ascii_slug(person.name)


def salespeople(source: SeedSource, customers: int) -> tuple[Salesperson, ...]:
    """CRONUS's salespeople, plus one more per 2,500 customers (mostly shared, with generated names).

    Names are unique, so matching users by name or e-mail is never ambiguous.
    """
    extra = max(0, customers // 2_500 - len(_CRONUS_SALESPEOPLE))
    rng = source.stream("salespeople")
    taken = {person.name for person in _CRONUS_SALESPEOPLE}
    generated = []
    while len(generated) < extra:
        first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
        if f"{first} {last}" in taken:
            continue
        taken.add(f"{first} {last}")
        number = len(generated) + 1
        generated.append(
            Salesperson(
                f"SP{number:04d}",
                first,
                last,
                "Account Manager",
                f"+1 425 555 {2000 + number:04d}",
                on_bc=True,
                on_dataverse=rng.random() < 0.8,
            )
        )
    return _CRONUS_SALESPEOPLE + tuple(generated)


def assignable(people: tuple[Salesperson, ...]) -> tuple[Salesperson, ...]:
    """Salespeople a BC customer can have."""
    return tuple(person for person in people if person.on_bc)


@dataclass(frozen=True)
class UnitOfMeasure:
    code: str
    description: str
    international_code: str  # UNECE Rec. 20
    on_dataverse: bool  # a Dataverse unit group "NAV <code>" already exists


UNITS: tuple[UnitOfMeasure, ...] = (
    UnitOfMeasure("PCS", "Piece", "EA", on_dataverse=True),
    UnitOfMeasure("BOX", "Box", "BX", on_dataverse=True),
    UnitOfMeasure("SET", "Set", "SET", on_dataverse=False),
    UnitOfMeasure("PACK", "Pack", "PK", on_dataverse=False),
    UnitOfMeasure("HOUR", "Hour", "HUR", on_dataverse=True),
    UnitOfMeasure("DAY", "Day", "DAY", on_dataverse=False),
    UnitOfMeasure("KG", "Kilogram", "KGM", on_dataverse=False),
)


@dataclass(frozen=True)
class Item:
    number: str
    description: str
    unit_price: Decimal
    unit_cost: Decimal
    base_unit: str
    inventory: Decimal
    gross_weight: Decimal
    unit_volume: Decimal
    blocked: bool
    on_dataverse: bool  # a product with the same number and name exists


_CRONUS_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("1896-S", "ATHENS Desk", "1000.8"),
    ("1900-S", "PARIS Guest Chair, black", "192.8"),
    ("1906-S", "ATHENS Mobile Pedestal", "281.4"),
    ("1908-S", "LONDON Swivel Chair, blue", "190.1"),
    ("1920-S", "ANTWERP Conference Table", "649.4"),
    ("1925-W", "Conference Bundle 1-6", "1143.5"),
    ("1928-S", "AMSTERDAM Lamp", "54.9"),
    ("1929-W", "Conference Bundle 1-8", "1494.2"),
    ("1936-S", "BERLIN Guest Chair, yellow", "192.8"),
    ("1953-W", "Guest Section 1", "1081.3"),
    ("1960-S", "ROME Guest Chair, green", "192.8"),
    ("1964-S", "TOKYO Guest Chair, blue", "192.8"),
    ("1965-W", "Conference Bundle 2-8", "1676.8"),
    ("1968-S", "MEXICO Swivel Chair, black", "190.1"),
    ("1969-W", "Conference Package 1", "2779.1"),
    ("1972-S", "MUNICH Swivel Chair, yellow", "190.1"),
    ("1980-S", "MOSCOW Swivel Chair, red", "190.1"),
    ("1988-S", "SEOUL Guest Chair, red", "192.8"),
    ("1996-S", "ATLANTA Whiteboard, base", "1397.3"),
    ("2000-S", "SYDNEY Swivel Chair, green", "190.1"),
)
_ITEM_KINDS = (
    "Desk",
    "Guest Chair",
    "Swivel Chair",
    "Lamp",
    "Whiteboard",
    "Conference Table",
    "Cabinet",
    "Shelf",
)


def items(source: SeedSource, customers: int) -> tuple[Item, ...]:
    """CRONUS's items plus one per 50 customers; every other one exists as a product already.

    Item 1929-W is blocked (outside the ITEM-PRODUCT table filter), 1999-S has no base unit yet, and
    some items (always 1908-S) have negative inventory, as real companies do (the product sync clamps
    it to 0).
    """
    rng = source.stream("items")
    specs = list(_CRONUS_ITEMS)
    for index in range(max(0, customers // 50 - len(specs))):
        city = rng.choice(words.COMPANY_LEADS).upper()
        specs.append(
            (f"7{index + 1:05d}-G", f"{city} {rng.choice(_ITEM_KINDS)}", f"{rng.uniform(20, 2500):.2f}")
        )
    result = []
    for position, (number, description, price) in enumerate(specs):
        unit_price = money(Decimal(price))
        inventory = Decimal(rng.randint(-5, 400))  # negative stock exists in real companies
        result.append(
            Item(
                number=number,
                description=description,
                unit_price=unit_price,
                unit_cost=money(unit_price * Decimal(rng.uniform(0.55, 0.8))),
                base_unit="SET" if number.endswith("-W") else ("BOX" if "Lamp" in description else "PCS"),
                inventory=NEGATIVE_STOCK if number == NEGATIVE_STOCK_ITEM else inventory,
                gross_weight=money(rng.uniform(1, 80)),
                unit_volume=money(rng.uniform(0.01, 2)),
                blocked=number == "1929-W",
                on_dataverse=position % 2 == 0,
            )
        )
    return (*result, _NO_BASE_UNIT)


# An item just entered in BC, without a base unit yet: ITEM-PRODUCT fails it with BC's message.
_NO_BASE_UNIT = Item(
    number="1999-S",
    description="POZNAN Bookcase",
    unit_price=Decimal("310.00"),
    unit_cost=Decimal("205.00"),
    base_unit="",
    inventory=Decimal(0),
    gross_weight=Decimal("22.50"),
    unit_volume=Decimal("0.80"),
    blocked=False,
    on_dataverse=False,
)
NEGATIVE_STOCK_ITEM, NEGATIVE_STOCK = "1908-S", Decimal(-3)  # more shipped than received


@dataclass(frozen=True)
class Resource:
    number: str
    name: str
    unit_price: Decimal
    unit_cost: Decimal
    base_unit: str
    capacity: Decimal
    on_dataverse: bool


RESOURCES: tuple[Resource, ...] = (
    Resource("KATHERINE", "Katherine Hull", Decimal("115.00"), Decimal("62.00"), "HOUR", Decimal(160), True),
    Resource("LIFT", "Lift for Furniture", Decimal("95.00"), Decimal("41.00"), "HOUR", Decimal(120), False),
    Resource("LINDA", "Linda Martin", Decimal("110.00"), Decimal("60.00"), "HOUR", Decimal(160), True),
    Resource("MARK", "Mark Hanson", Decimal("110.00"), Decimal("58.00"), "HOUR", Decimal(160), False),
    Resource("MARTY", "Marty Horst", Decimal("125.00"), Decimal("66.00"), "HOUR", Decimal(120), False),
    Resource("TERRY", "Terry Dodds", Decimal("120.00"), Decimal("64.00"), "DAY", Decimal(20), True),
)


@dataclass(frozen=True)
class PriceGroup:
    code: str
    description: str
    currency: str  # "" = LCY; the currency of the group's prices
    discount: Decimal  # price = unit price × (1 − discount)
    on_dataverse: bool  # a price list with this name exists
    priced: bool = True  # the group has sales prices
    # Every other price of the group is in this currency instead: BC refuses to send such a group.
    other_currency: str | None = None
    in_use: bool = True  # customers are assigned to the group


PRICE_GROUPS: tuple[PriceGroup, ...] = (
    PriceGroup("RETAIL", "Retail customers", "", Decimal("0"), on_dataverse=True),
    PriceGroup("WHOLESALE", "Wholesale customers", "", Decimal("0.15"), on_dataverse=False),
    PriceGroup("LARGE ACC", "Large accounts", "", Decimal("0.10"), on_dataverse=False, priced=False),
    PriceGroup("EXPORT", "Export customers (EUR)", "EUR", Decimal("0.05"), on_dataverse=False),
    PriceGroup(
        "MIXED",
        "Trade fair (EUR and GBP prices)",
        "EUR",
        Decimal("0.08"),
        on_dataverse=False,
        other_currency="GBP",
        in_use=False,
    ),
)
GROUPS_IN_USE = tuple(group for group in PRICE_GROUPS if group.in_use)
# Dataverse's own lists: the default list the product sync uses, and one the user made by hand.
DATAVERSE_PRICE_LISTS: tuple[tuple[str, str], ...] = (
    ("Default Price List", "Created with the organization"),
    ("Trade Show 2025", "Only in Dynamics 365 Sales"),
)


@dataclass(frozen=True)
class SalesPrice:
    group: str
    item: str
    unit: str
    currency: str
    unit_price: Decimal


def priced_items(catalog_items: tuple[Item, ...]) -> list[Item]:
    """The items that have group prices: the first 40 unblocked ones with a base unit."""
    return [item for item in catalog_items if not item.blocked and item.base_unit][:40]


def sales_prices(catalog_items: tuple[Item, ...]) -> tuple[SalesPrice, ...]:
    """One price per priced group for each priced item; a mixed group alternates its two currencies.

    RETAIL, WHOLESALE and EXPORT each have prices in one currency, LARGE ACC has none (its Sales
    price list is in LCY) and MIXED has EUR and GBP prices (BC fails it).
    """
    prices = []
    for position, item in enumerate(priced_items(catalog_items)):
        for group in PRICE_GROUPS:
            if not group.priced:
                continue
            currency = group.other_currency if group.other_currency and position % 2 else group.currency
            in_currency = item.unit_price * (1 - group.discount) / lcy_rate(currency)
            prices.append(SalesPrice(group.code, item.number, item.base_unit, currency, money(in_currency)))
    return tuple(prices)


PAYMENT_TERMS: tuple[tuple[str, str, int], ...] = (  # code, description, due days
    ("1M(8D)", "1 Month/2% 8 days", 30),
    ("14 DAYS", "Net 14 days", 14),
    ("30 DAYS", "Net 30 days", 30),
    ("60 DAYS", "Net 60 days", 60),
    ("CM", "Current month", 30),
    ("COD", "Cash on delivery", 0),
)
SHIPMENT_METHODS: tuple[tuple[str, str], ...] = (
    ("CIF", "Cost Insurance and Freight"),
    ("EXW", "Ex Warehouse"),
    ("FOB", "Free on Board"),
    ("PICKUP", "Pickup at Location"),
)
