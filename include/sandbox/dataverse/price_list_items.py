"""Dataverse's rules for price list items (`productpricelevel`), checked on create and update.

The product catalog's platform rules, with its error codes (Dataverse `ErrorCodes`): one price per
product and unit on a price list (`DuplicateProductPriceLevel`), the item's currency is the price
list's (`RecordAndPricelistCurrencyNotEqual`; taken from the list when not given), and the unit belongs
to the product's unit group (`ProductInvalidUnit`; the unit group is taken from the unit when not given).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.dataverse.errors import DataverseError, bad_request
from sandbox.storage.repository import Row, UnitOfWork
from sandbox.storage.schema import EntitySchema

LOGICAL_NAME = "productpricelevel"
DUPLICATE_PRODUCT_PRICE_LEVEL = "0x80043b08"
RECORD_AND_PRICE_LIST_CURRENCY_NOT_EQUAL = "0x80048cf6"
PRODUCT_INVALID_UNIT = "0x80043b14"

Related = Callable[[str, Any], Row | None]  # (logical name, key) → the row, read once per write


def check_price_list_item(
    schema: EntitySchema,
    work: UnitOfWork,
    related: Related,
    values: dict[str, Any],
    current: Row | None,
    pending: list[dict[str, Any]] | None = None,
) -> None:
    """Complete `values` (currency, unit group) and refuse what Dataverse refuses.

    `current` is the row being updated (None on create); `pending` the rows created before this one
    in the same bulk message, which count for uniqueness as rows already written do.
    """
    merged = {**_by_attribute(schema, current), **values}
    price_list = related("pricelevel", merged.get("pricelevelid")) if merged.get("pricelevelid") else None
    if price_list is not None:
        _currency_of_price_list(values, merged, price_list)
    unit = related("uom", merged.get("uomid")) if merged.get("uomid") else None
    product = related("product", merged.get("productid")) if merged.get("productid") else None
    if unit is not None and product is not None:
        _unit_of_product(values, unit, product)
    _unique(schema, work, merged, current, pending or [])


def _currency_of_price_list(values: dict[str, Any], merged: dict[str, Any], price_list: Row) -> None:
    currency = price_list.get("_transactioncurrencyid_value")
    if merged.get("transactioncurrencyid") is None:
        values["transactioncurrencyid"] = currency
    elif str(merged["transactioncurrencyid"]).lower() != str(currency).lower():
        raise bad_request(
            "The currency of the record does not match the currency of the price list.",
            RECORD_AND_PRICE_LIST_CURRENCY_NOT_EQUAL,
        )


def _unit_of_product(values: dict[str, Any], unit: Row, product: Row) -> None:
    group = unit.get("_uomscheduleid_value")
    if str(group).lower() != str(product.get("_defaultuomscheduleid_value")).lower():
        raise bad_request("The specified unit is not valid for this product.", PRODUCT_INVALID_UNIT)
    if values.get("uomscheduleid") is None:
        values["uomscheduleid"] = group


def _unique(
    schema: EntitySchema,
    work: UnitOfWork,
    merged: dict[str, Any],
    current: Row | None,
    pending: list[dict[str, Any]],
) -> None:
    key = {name: merged.get(name) for name in ("pricelevelid", "productid", "uomid")}
    if any(value is None for value in key.values()):
        return  # the required-attribute check names what is missing
    own = str(current[schema.key]).lower() if current else None
    others = [row for row in work.find(schema, key) if str(row[schema.key]).lower() != own]
    wanted = {name: str(value).lower() for name, value in key.items()}
    twins = [row for row in pending if {n: str(row.get(n)).lower() for n in key} == wanted]
    if others or twins:
        raise DataverseError(
            400,
            DUPLICATE_PRODUCT_PRICE_LEVEL,
            "This product and unit combination has a price for this price list.",
        )


def _by_attribute(schema: EntitySchema, row: Row | None) -> dict[str, Any]:
    """A stored row (keyed by column, `_x_value` for lookups) keyed by attribute name."""
    if row is None:
        return {}
    return {attribute.name: row.get(attribute.column) for attribute in schema.attributes}
