"""Business Central-only reference facts of the seed: what BC keeps about the codes that
`sandbox.seed.catalog` shares between the sides (date formulas, shipping agents, exchange-rate dates).

Exchange rates: every BC currency with a rate in the catalog gets two, an older one and the one in
force on the work date (which equals the rate the Dataverse currency carries). CHF is the one BC
currency without any rate (its `lcy_per_unit` is None), so tests can show BC's "no exchange rate
defined" failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sandbox.seed import catalog
from sandbox.seed.determinism import WORK_DATE


@dataclass(frozen=True)
class PaymentTermsFormula:
    due: str  # Due Date Calculation (BC DateFormula text)
    discount: str = ""  # Discount Date Calculation
    discount_percent: Decimal = Decimal(0)


# Keyed by the catalog's payment-terms codes (CRONUS's own set-up).
PAYMENT_TERMS_FORMULAS: dict[str, PaymentTermsFormula] = {
    "1M(8D)": PaymentTermsFormula("1M", "8D", Decimal(2)),
    "14 DAYS": PaymentTermsFormula("14D"),
    "30 DAYS": PaymentTermsFormula("30D"),
    "60 DAYS": PaymentTermsFormula("60D"),
    "CM": PaymentTermsFormula("CM"),
    "COD": PaymentTermsFormula("0D"),
}


@dataclass(frozen=True)
class ShippingAgent:
    code: str
    name: str
    internet_address: str  # tracking URL; BC substitutes %1 with the package tracking no.


# CRONUS's shipping agents; DHL, FEDEX and UPS match options of the account's shipping-method set.
SHIPPING_AGENTS: tuple[ShippingAgent, ...] = (
    ShippingAgent("DHL", "DHL Systems, Inc.", "www.dhl.com/en/express/tracking.html?AWB=%1&brand=DHL"),
    ShippingAgent("FEDEX", "Federal Express Corporation", "www.fedex.com/apps/fedextrack/?tracknumbers=%1"),
    ShippingAgent("OWNLOG", "Own Logistics", ""),
    ShippingAgent("UPS", "UPS Parcel Service", "wwwapps.ups.com/tracking/tracking.cgi?tracknum=%1"),
)


@dataclass(frozen=True)
class ConfigTemplate:
    code: str
    description: str
    table_id: int
    table_name: str
    lines: tuple[tuple[int, str, str], ...]  # field no., field name, default value


# The CUSTOMER mapping's "Table Config Template Code": BC copies the first customer template whose
# currency is blank (without its currency line) as BCICUST; customers created from Sales get its values.
CONFIG_TEMPLATES: tuple[ConfigTemplate, ...] = (
    ConfigTemplate(
        "BCICUST",
        "New customers from Dynamics 365 Sales",
        18,
        "Customer",
        ((27, "Payment Terms Code", "30 DAYS"), (30, "Shipment Method Code", "EXW")),
    ),
)

# Marketing Setup "Bus. Rel. Code for Customers": the relation a customer's company contact carries.
CUSTOMER_BUSINESS_RELATION = "CUST"

EXCHANGE_RATE_UNITS = Decimal(100)  # rates are quoted per 100 units, as CRONUS does
CURRENT_RATE_FROM = date(WORK_DATE.year, 1, 1)  # in force on the work date
OLDER_RATE_FROM = date(WORK_DATE.year - 1, 1, 1)
OLDER_RATE_FACTOR = Decimal("0.97")  # the currencies were 3 % cheaper a year before


@dataclass(frozen=True)
class ExchangeRate:
    currency: str
    starting_date: date
    amount: Decimal  # units of the currency ...
    relational_amount: Decimal  # ... worth this many units of the LCY


def exchange_rates() -> tuple[ExchangeRate, ...]:
    """The older and the current rate of each BC currency that has one (all but CHF)."""
    rates = []
    for currency in catalog.CURRENCIES:
        if not currency.on_bc or currency.lcy_per_unit is None:
            continue
        current = EXCHANGE_RATE_UNITS * currency.lcy_per_unit
        older = (current * OLDER_RATE_FACTOR).quantize(Decimal("0.0001"))
        rates.append(ExchangeRate(currency.code, OLDER_RATE_FROM, EXCHANGE_RATE_UNITS, older))
        rates.append(ExchangeRate(currency.code, CURRENT_RATE_FROM, EXCHANGE_RATE_UNITS, current))
    return tuple(rates)
