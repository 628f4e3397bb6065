"""The Sales product of each posted invoice line: its item's or resource's coupled product (cu 5341).

An item or resource line uses the product coupled to its item (ITEM-PRODUCT) or resource
(RESOURCE-PRODUCT). Before an invoice is first sent, BC synchronizes an uncoupled item or resource
first, when its mapping runs, and refuses a blocked one; an item still without a product makes a
write-in line, a resource without one is an error. Other line types (G/L account, charge, fixed asset)
have no product: they are write-ins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bcsync.engine.model import SOURCE_ID
from bcsync.pipeline.reading import rows_by_key
from bcsync.pipeline.services import Services
from bcsync.pipeline.sync_first import coupled_or_synchronized_first

ITEM, RESOURCE = "Item", "Resource"
ITEM_MAPPING, RESOURCE_MAPPING = "ITEM-PRODUCT", "RESOURCE-PRODUCT"
SALES = "Dynamics 365 Sales"


@dataclass
class LineProducts:
    product: dict[str, str] = field(default_factory=dict)  # line id → coupled product id
    problem: dict[str, str] = field(default_factory=dict)  # line id → why the line cannot be sent


def line_products(lines: pd.DataFrame, services: Services, *, first_sync: bool) -> LineProducts:
    """Each line's product; with `first_sync` (an invoice not sent yet) blocked items and resources
    are refused and uncoupled ones synchronized first."""
    result = LineProducts()
    if lines.empty:
        return result
    kinds = lines["lineType"].astype(str)
    items = lines[kinds == ITEM]
    resources = lines[kinds == RESOURCE]
    item_of = {line: str(item).lower() for line, item in zip(items[SOURCE_ID], items["itemId"], strict=True)}
    numbers = dict(zip(resources[SOURCE_ID], resources["lineObjectNumber"].astype(str), strict=True))
    resource_rows = rows_by_key(
        services.bc, "resources", "no", numbers.values(), ["id", "no", "blocked"], api="custom"
    )
    resource_of = {
        line: str(resource_rows[number.lower()]["id"]).lower()
        for line, number in numbers.items()
        if number.lower() in resource_rows
    }
    if first_sync:
        item_rows = rows_by_key(services.bc, "items", "id", item_of.values(), ["id", "number", "blocked"])
        for line, item in item_of.items():
            if item_rows.get(item, {}).get("blocked"):
                result.problem[line] = _blocked("Item", item_rows[item]["number"])
        for line, number in numbers.items():
            if resource_rows.get(number.lower(), {}).get("blocked"):
                result.problem[line] = _blocked("Resource", number)
    allowed = {line: item for line, item in item_of.items() if line not in result.problem}
    result.product.update(_coupled(ITEM_MAPPING, allowed, services, first_sync))
    allowed = {line: resource for line, resource in resource_of.items() if line not in result.problem}
    result.product.update(_coupled(RESOURCE_MAPPING, allowed, services, first_sync))
    for line, number in numbers.items():
        if line not in result.product and line not in result.problem:
            result.problem[line] = f"Resource {number} must be coupled to a record in {SALES}."
    return result


def _coupled(
    mapping: str, bc_of_line: dict[str, str], services: Services, first_sync: bool
) -> dict[str, str]:
    """Line id → product coupled to its BC record; uncoupled records synchronized first if asked."""
    if not bc_of_line:
        return {}
    crm_of = coupled_or_synchronized_first(mapping, bc_of_line.values(), services, synchronize=first_sync)
    return {line: crm_of[bc] for line, bc in bc_of_line.items() if bc in crm_of}


def _blocked(table: str, number: object) -> str:
    """BC's TestField message for a blocked item or resource on an invoice sent for the first time."""
    return f"Blocked must be equal to 'No'  in {table}: No.={number}. Current value is 'Yes'."
