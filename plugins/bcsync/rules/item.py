"""Item: items are Sales products of type Sales Inventory (the product rules are in `product`)."""

from __future__ import annotations

from bcsync.rules.product import ProductSource, register_product_rules

SALES_INVENTORY = 1  # producttypecode

register_product_rules(
    ProductSource(
        table="Item", number_field="number", unit_field="baseUnitOfMeasureCode", product_type=SALES_INVENTORY
    )
)
