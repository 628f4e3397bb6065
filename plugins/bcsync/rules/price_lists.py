"""CRM Synch. Helper's price lists: the default price list in LCY, and one price list per other currency.

BC places products on "<product short name> Default Price List" (in LCY; "… <LCY>" when a list of
that name exists in another currency), and gives an invoice in another currency the list
"Price List in <ISO code>"; each is created in Sales when missing. A price list needs an item price
for every existing product an invoice line uses (`ensure_product_prices`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from bcsync.pipeline.lookups import base_currency_id
from bcsync.pipeline.services import Services
from bcsync.wire import odata
from bcsync.wire.errors import RecordRejected

log = logging.getLogger(__name__)

DEFAULT_PRICE_LIST = "Business Central Default Price List"
CURRENCY_PRICE_LIST = "Price List in {}"
CURRENCY_AMOUNT = 1  # productpricelevel pricingmethodcode "Currency Amount"


class PriceLists:
    """The price list of each currency, found or created once per use (one task's planning)."""

    def __init__(self, services: Services):
        self.services = services
        self._by_currency: dict[str, str] = {}
        self._iso_codes: dict[str, str] | None = None

    def for_currency(self, currency_id: str) -> str:
        """The id of the price list an invoice in this Sales currency uses (created if missing)."""
        currency_id = currency_id.lower()
        if currency_id not in self._by_currency:
            lcy = base_currency_id(self.services)
            if currency_id == lcy:
                name, other_name = DEFAULT_PRICE_LIST, f"{DEFAULT_PRICE_LIST} {self._iso(currency_id)}"
            else:
                name = other_name = CURRENCY_PRICE_LIST.format(self._iso(currency_id))
            self._by_currency[currency_id] = self._find_or_create(currency_id, name, other_name)
        return self._by_currency[currency_id]

    def _find_or_create(self, currency_id: str, name: str, other_name: str) -> str:
        """The list named `name` in the currency; if that name is taken in another currency, the list
        named `other_name` (BC's LCY suffix), created in the currency when it does not exist."""
        for candidate in dict.fromkeys((name, other_name)):
            rows = self._lists_named(candidate)
            same_currency = [r for r in rows if str(r["_transactioncurrencyid_value"]).lower() == currency_id]
            if same_currency:
                return str(same_currency[0]["pricelevelid"]).lower()
            if not rows:
                created_id = self.services.crm.create(
                    "pricelevels",
                    {
                        "name": candidate,
                        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({currency_id})",
                    },
                )
                log.info("created the Sales price list %r", candidate)
                return str(created_id).lower()
        raise ValueError(f"the price lists {name!r} and {other_name!r} both exist in another currency")

    def _lists_named(self, name: str) -> list[dict]:
        return [
            row
            for page in self.services.crm.iter_pages(
                "pricelevels",
                select=["pricelevelid", "_transactioncurrencyid_value"],
                filter=odata.eq("name", name),
            )
            for row in page
        ]

    def _iso(self, currency_id: str) -> str:
        if self._iso_codes is None:
            self._iso_codes = {
                str(row["transactioncurrencyid"]).lower(): str(row["isocurrencycode"])
                for page in self.services.crm.iter_pages(
                    "transactioncurrencies", select=["transactioncurrencyid", "isocurrencycode"]
                )
                for row in page
            }
        return self._iso_codes.get(currency_id, currency_id)


def ensure_product_prices(services: Services, prices: Iterable[tuple[str, str, str, float]]) -> None:
    """Create the missing price list items (price list, product, unit, amount), as BC does before it
    adds an existing product to an invoice: Sales prices an invoice product from its price list."""
    wanted: dict[tuple[str, str, str], float] = {}
    for price_list, product, unit, amount in prices:
        wanted.setdefault((price_list.lower(), product.lower(), unit.lower()), amount)
    if not wanted:
        return
    existing = set()
    for price_list in {key[0] for key in wanted}:
        for page in services.crm.iter_pages(
            "productpricelevels",
            select=["_pricelevelid_value", "_productid_value", "_uomid_value"],
            filter=odata.eq("_pricelevelid_value", uuid.UUID(price_list)),
        ):
            existing.update(
                (price_list, str(r["_productid_value"]).lower(), str(r["_uomid_value"]).lower()) for r in page
            )
    for (price_list, product, unit), amount in wanted.items():
        if (price_list, product, unit) in existing:
            continue
        try:
            _create_price(services, price_list, product, unit, amount)
        except RecordRejected as refused:  # the line itself then fails, with Sales' reason
            log.warning(
                "no price list item for product %s in price list %s: %s", product, price_list, refused
            )


def _create_price(services: Services, price_list: str, product: str, unit: str, amount: float) -> None:
    services.crm.create(
        "productpricelevels",
        {
            "pricelevelid@odata.bind": f"/pricelevels({price_list})",
            "productid@odata.bind": f"/products({product})",
            "uomid@odata.bind": f"/uoms({unit})",
            "amount": amount,
            "pricingmethodcode": CURRENCY_AMOUNT,
        },
    )
