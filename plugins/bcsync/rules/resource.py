"""Resource: resources are Sales products of type Services (the product rules are in `product`)."""

from __future__ import annotations

from bcsync.rules.product import ProductSource, register_product_rules

SERVICES = 3  # producttypecode

register_product_rules(
    ProductSource(table="Resource", number_field="no", unit_field="baseUnitOfMeasure", product_type=SERVICES)
)
