"""Customer Price Group: a price group as a Sales price list in the currency of its sales prices.

BC (cu 5341, legacy pricing): before a price list is created or modified, all the group's sales prices
must share one currency (LCY when the group has none) and be in units Sales has; a new list gets that
currency and the group's description, a modified one must still be in it. After the group is written or
found unchanged, its sales prices are synchronized (SALESPRC-PRODUCTPRICE).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

from bcsync.engine.model import SOURCE_ID, SyncPass
from bcsync.pipeline.lookups import DEFAULT_LCY
from bcsync.pipeline.reading import pages_where_in
from bcsync.pipeline.services import Services
from bcsync.pipeline.unit_groups import UnitGroupError, UnitGroups
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, FollowUp, RuleKind, table_rule
from bcsync.wire import odata

SALES_PRICES = "salesPrices"
GROUP_PRICES = "salesType eq 'Customer Price Group'"
# The Sales Price table's primary key, in order: BC reads a group's prices in this order.
PRICE_KEY = (
    ("itemNo", "Item No."),
    ("salesType", "Sales Type"),
    ("salesCode", "Sales Code"),
    ("startingDate", "Starting Date"),
    ("currencyCode", "Currency Code"),
    ("variantCode", "Variant Code"),
    ("unitOfMeasureCode", "Unit of Measure Code"),
    ("minimumQuantity", "Minimum Quantity"),
)


@table_rule("Customer Price Group", SyncPass.TO_CRM)
def currency_of_the_groups_prices(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """New price lists take the currency of the group's prices and its description; a modified one
    must still be in that currency; a group whose prices differ in currency fails (BC's TestField)."""
    writes = plan.index[plan["action"].isin(WRITES)]
    groups = source.set_index(SOURCE_ID)
    codes = {plan.at[i, SOURCE_ID]: str(groups.at[plan.at[i, SOURCE_ID], "code"]) for i in writes}
    prices = _prices_by_group(services, set(codes.values()))
    currencies = _SalesCurrencies(services)
    current = _current_currencies(services, plan.loc[writes].query("action == 'modify'")["destination_id"])
    units = None
    for index in writes:
        source_id = plan.at[index, SOURCE_ID]
        group_prices = prices.get(codes[source_id].upper(), [])
        expected = str(group_prices[0].get("currencyCode") or "") if group_prices else ""
        try:
            if group_prices:
                units = units or UnitGroups.read(services)
                _check_prices(group_prices, expected, units)
            currency = currencies.currency_id(expected)
            if plan.at[index, "action"] == "insert":
                description = groups.at[source_id, "description"] if "description" in groups.columns else None
                plan.at[index, "payload"] = {
                    **(plan.at[index, "payload"] or {}),
                    "transactioncurrencyid": currency,
                    "description": None if pd.isna(description) else description,
                }
            else:
                _check_unchanged(plan.at[index, "destination_id"], currency, current)
        except ValueError as error:
            plan.at[index, "action"] = "fail"
            plan.at[index, "error"] = str(error)
    return plan


@table_rule("Customer Price Group", SyncPass.TO_CRM, RuleKind.FOLLOW_UP)
def synchronize_the_groups_prices(
    mapping: IntegrationTableMapping, settled: pd.DataFrame, services: Services
) -> FollowUp | None:
    """The sales prices of every group inserted, modified or found unchanged (BC's
    ResetCRMProductpricelevelFromCustomerPriceGroup)."""
    group_ids = settled.loc[settled["action"].isin((*WRITES, "unchanged")), SOURCE_ID].tolist()
    if not group_ids:
        return None
    codes = {
        str(row["code"]).upper()
        for page in _pages_by_ids(services, "customerPriceGroups", "id", group_ids, ["id", "code"])
        for row in page
    }
    price_ids = [
        str(price["id"]).lower() for group in _prices_by_group(services, codes).values() for price in group
    ]
    return FollowUp("Sales Price", tuple(price_ids))


class _SalesCurrencies:
    """Sales currencies by ISO code; BC's blank currency code is the LCY."""

    def __init__(self, services: Services) -> None:
        self.lcy = str(services.bc.settings.extra.get("lcy_code") or DEFAULT_LCY).upper()
        self.ids = {
            str(row["isocurrencycode"]).upper(): str(row["transactioncurrencyid"]).lower()
            for page in services.crm.iter_pages(
                "transactioncurrencies", select=["transactioncurrencyid", "isocurrencycode"]
            )
            for row in page
        }

    def currency_id(self, code: str) -> str:
        iso = code.strip().upper() or self.lcy
        if iso not in self.ids:
            raise ValueError(f"Cannot find the currency with the value '{iso}' in Dynamics 365 Sales.")
        return self.ids[iso]


def _check_prices(prices: list[dict[str, Any]], expected: str, units: UnitGroups) -> None:
    """Every price in the expected currency and in a unit Sales has, in BC's order (its
    CheckSalesPricesForSync)."""
    for price in prices:
        actual = str(price.get("currencyCode") or "")
        if actual != expected:
            raise ValueError(
                f"Currency Code must be equal to '{expected}'  in Sales Price: {_primary_key(price)}. "
                f"Current value is '{actual}'."
            )
        unit = str(price.get("unitOfMeasureCode") or "").strip()
        if unit:  # a blank unit is the item's base unit, which the item's own sync checks
            try:
                units.unit_for(unit)
            except UnitGroupError as error:
                raise ValueError(str(error)) from None


def _check_unchanged(price_list_id: str, currency: str, current: dict[str, str]) -> None:
    """BC's TestField on the price list's currency before modifying it."""
    now = current.get(str(price_list_id).lower(), "")
    if now != currency:
        raise ValueError(
            f"Currency must be equal to '{_al_guid(currency)}'  in CRM Pricelevel: "
            f"Price List={_al_guid(price_list_id)}. Current value is '{_al_guid(now)}'."
        )


def _current_currencies(services: Services, price_list_ids: Iterable[str]) -> dict[str, str]:
    ids = [str(i) for i in price_list_ids if i]
    return {
        str(row["pricelevelid"]).lower(): str(row.get("_transactioncurrencyid_value") or "").lower()
        for page in _pages_by_ids(
            services,
            "pricelevels",
            "pricelevelid",
            ids,
            ["pricelevelid", "_transactioncurrencyid_value"],
            crm=True,
        )
        for row in page
    }


def _prices_by_group(services: Services, codes: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Each group's sales prices (by upper-cased code), in the Sales Price table's key order."""
    select = ["id", *(name for name, _ in PRICE_KEY)]
    pages = pages_where_in(
        services.bc, SALES_PRICES, "salesCode", codes, select, also=odata.Filter(GROUP_PRICES), api="custom"
    )
    rows = [row for page in pages for row in page]
    rows.sort(key=_key_order)
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row["salesCode"]).upper(), []).append(row)
    return out


def _key_order(price: dict[str, Any]) -> tuple[Any, ...]:
    *texts, quantity = (price.get(name) for name, _ in PRICE_KEY)
    return (*(str(text or "") for text in texts), float(quantity or 0))


def _primary_key(price: dict[str, Any]) -> str:
    return ", ".join(f"{caption}={_formatted(price.get(name))}" for name, caption in PRICE_KEY)


def _formatted(value: Any) -> str:
    """AL's Format of a key value: blank for a blank code or date, a decimal without trailing zeros."""
    if value is None or value == "0001-01-01":
        return ""
    if isinstance(value, float | int):
        return f"{value:g}"
    return str(value)


def _al_guid(value: str) -> str:
    return "{" + str(uuid.UUID(value)).upper() + "}" if value else ""


def _pages_by_ids(
    services: Services, entity_set: str, key: str, ids: list[str], select: list[str], *, crm: bool = False
) -> Iterator[list[dict[str, Any]]]:
    guids = [uuid.UUID(i) for i in ids]
    if crm:
        return pages_where_in(services.crm, entity_set, key, guids, select)
    return pages_where_in(services.bc, entity_set, key, guids, select, api="custom")
