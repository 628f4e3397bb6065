"""What UNITOFMEASURE and ITEM-PRODUCT do before the price jobs, played through the Dataverse API (those
jobs are built elsewhere): "NAV <code>" unit groups, a product per item, the items coupled in the store.

Re-check once ITEM-PRODUCT lands: the price tests should then run UNITOFMEASURE and ITEM-PRODUCT instead.
"""

from __future__ import annotations

from typing import Any

from bcsync.pipeline.services import Services


def rows(hook: Any, entity_set: str, select: list[str], **options: Any) -> list[dict[str, Any]]:
    return [row for page in hook.iter_pages(entity_set, select=select, **options) for row in page]


def sales_products_for_items(services: Services, *, without_unit_groups: tuple[str, ...] = ()) -> None:
    """What UNITOFMEASURE and ITEM-PRODUCT do before the price jobs: a "NAV <code>" unit group per BC
    unit (Dataverse creates its base unit), and a product per unblocked item in its base unit's group,
    coupled to the item."""
    crm = services.crm
    existing = {r["name"] for r in rows(crm, "uomschedules", ["name"])}
    for unit in rows(services.bc, "unitsOfMeasure", ["code"]):
        name = f"NAV {unit['code']}"
        if name not in existing and unit["code"] not in without_unit_groups:
            crm.create("uomschedules", {"name": name, "baseuomname": unit["code"]})
    groups = {r["name"]: r["uomscheduleid"] for r in rows(crm, "uomschedules", ["uomscheduleid", "name"])}
    unit_of = {
        r["_uomscheduleid_value"]: r["uomid"] for r in rows(crm, "uoms", ["uomid", "_uomscheduleid_value"])
    }
    products = {
        r["productnumber"]: r["productid"] for r in rows(crm, "products", ["productid", "productnumber"])
    }
    pairs = []
    items = rows(services.bc, "items", ["id", "number", "displayName", "baseUnitOfMeasureCode", "blocked"])
    for item in items:
        schedule = groups.get(f"NAV {item['baseUnitOfMeasureCode']}")
        if item["blocked"] or schedule is None:
            continue
        units = {
            "defaultuomscheduleid@odata.bind": f"/uomschedules({schedule})",
            "defaultuomid@odata.bind": f"/uoms({unit_of[schedule]})",
        }
        product = products.get(item["number"])
        if product:
            crm.update("products", product, units)
        else:
            body = {"name": item["displayName"], "productnumber": item["number"], "producttypecode": 1}
            product = crm.create("products", {**body, **units})
        pairs.append({"bc_id": item["id"], "crm_id": product})
    services.store.couple("ITEM-PRODUCT", pairs, coupled_by="manual")
