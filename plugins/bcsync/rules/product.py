"""What items and resources share as Sales products (BC's CRM Synch. Helper product code, §3.3–3.4).

BC → Sales: the product is in the local currency, sold in the unit of its "NAV <base unit>" group,
never has a negative price or quantity on hand, is typed Sales Inventory (items) or Services
(resources), carries its vendor's name, is created with 2 decimals and published (Active), and sits
on BC's default price list with a price list line at its price. Sales → BC: a product that is not
Active blocks its item or resource.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, DESTINATION_MODIFIED, SOURCE_ID, SyncPass
from bcsync.pipeline.lookups import DEFAULT_LCY, base_currency_id
from bcsync.pipeline.reading import pages_where_in
from bcsync.pipeline.services import Services
from bcsync.pipeline.unit_groups import UnitGroupError, UnitGroups
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, RuleKind, lookup_of, table_rule
from bcsync.wire import odata

log = logging.getLogger(__name__)

ACTIVE, ACTIVE_STATUS = 0, 1  # product statecode Active, statuscode Active
QUANTITY_DECIMALS = 2  # CRM Setup Defaults' product quantity precision
DEFAULT_PRICE_LIST = "Business Central Default Price List"  # "<PRODUCTNAME.Short()> Default Price List"
PRODUCTS, LINES = ("products", "product"), ("productpricelevels", "productpricelevel")
PRODUCT_COLUMNS = [
    "productid",
    "price",
    "_defaultuomid_value",
    "_defaultuomscheduleid_value",
    "_transactioncurrencyid_value",
    "_pricelevelid_value",
    "statecode",
]
LINE_COLUMNS = [
    "productpricelevelid",
    "_productid_value",
    "amount",
    "_uomid_value",
    "_uomscheduleid_value",
    "_transactioncurrencyid_value",
]


@dataclass(frozen=True)
class ProductSource:
    """How a BC table becomes products: its caption, its No. and base unit fields, the product type."""

    table: str  # BC's table caption, as in its messages: Item, Resource
    number_field: str
    unit_field: str
    product_type: int  # producttypecode: Sales Inventory 1, Services 3


def register_product_rules(kind: ProductSource) -> None:
    """The rules of a BC table whose records are products (called by `item` and `resource`)."""

    @table_rule(kind.table, SyncPass.TO_CRM)
    def as_product(
        mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
    ) -> pd.DataFrame:
        return to_sales(kind, plan, source, services)

    @table_rule(kind.table, SyncPass.TO_CRM, RuleKind.AFTER_WRITE)
    def on_price_list(
        mapping: IntegrationTableMapping, written: pd.DataFrame, services: Services
    ) -> pd.DataFrame:
        return on_default_price_list(written, services)

    @table_rule(kind.table, SyncPass.FROM_CRM)
    def blocked_from_product_state(
        mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
    ) -> pd.DataFrame:
        return blocked_from_state(plan, source)


def to_sales(
    kind: ProductSource, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """Complete the payloads of the products to write (BC's UpdateCRMProductAfterTransferRecordFields
    and UpdateCRMProductBeforeInsertRecord); a record without a usable base unit fails."""
    writes = plan.index[plan["action"].isin(WRITES)]
    if not len(writes):
        return plan
    units = lookup_of(source, SOURCE_ID, kind.unit_field)
    numbers = lookup_of(source, SOURCE_ID, kind.number_field)
    vendors = _vendor_names(services, source)
    vendor_of = lookup_of(source, SOURCE_ID, "vendorNo")
    groups = UnitGroups.read(services)
    currency = base_currency_id(services)
    for index in writes:
        record = plan.at[index, SOURCE_ID]
        unit = str(units.get(record) or "").strip()
        if not unit:
            plan.at[index, "action"] = "fail"
            plan.at[index, "error"] = (
                f"Base Unit of Measure must have a value in {kind.table}: No.={numbers.get(record, '')}. "
                "It cannot be zero or empty."
            )
            continue
        try:
            sales_unit = groups.unit_for(unit)
        except UnitGroupError as unusable:
            plan.at[index, "action"], plan.at[index, "error"] = "fail", str(unusable)
            continue
        payload: dict[str, Any] = dict(plan.at[index, "payload"] or {})
        for amount in ("price", "quantityonhand"):  # Sales allows no negative price or stock
            if payload.get(amount) is not None and float(payload[amount]) < 0:
                payload[amount] = 0
        payload |= {
            "defaultuomscheduleid": sales_unit.schedule_id,
            "defaultuomid": sales_unit.unit_id,
            "producttypecode": kind.product_type,
        }
        if currency:
            payload["transactioncurrencyid"] = currency
        vendor = vendors.get(str(vendor_of.get(record) or "").upper())
        if vendor is not None:
            payload["vendorname"] = vendor
        if plan.at[index, "action"] == "insert":
            payload["quantitydecimal"] = QUANTITY_DECIMALS
        plan.at[index, "payload"] = payload
    return plan


def _vendor_names(services: Services, source: pd.DataFrame) -> dict[str, str]:
    """BC vendor No. → Name, for the vendors the source records name."""
    if "vendorNo" not in source.columns:
        return {}
    numbers = {str(n) for n in source["vendorNo"].dropna() if str(n).strip()}
    return {
        str(row["number"]).upper(): str(row["displayName"])
        for page in pages_where_in(services.bc, "vendors", "number", numbers, ["number", "displayName"])
        for row in page
    }


def on_default_price_list(written: pd.DataFrame, services: Services) -> pd.DataFrame:
    """After the write: each product has a line on BC's default price list at its price in its default
    unit, is that list's product, and a product just created is published (BC's UpdateCRMPriceListItem
    and SetCRMProductStateToActive). Written in bulk; a product refused here fails; the new modified-on
    is kept."""
    ids = [str(i) for i in written[DESTINATION_ID]]
    products = _read(services, "products", "productid", ids, PRODUCT_COLUMNS)
    price_list = default_price_list(services)
    lines = _read(
        services,
        "productpricelevels",
        "_productid_value",
        ids,
        LINE_COLUMNS,
        also=odata.eq("_pricelevelid_value", uuid.UUID(price_list)),
    )
    created = written["created"] if "created" in written.columns else pd.Series(False, index=written.index)
    new_lines, changed_lines, changed_products = [], [], []
    for index in written.index:
        product = products.get(str(written.at[index, DESTINATION_ID]).lower())
        if product is None:
            continue
        line = lines.get(product["productid"])
        body = _line_body(product)
        if line is None:
            owners = _binds(
                pricelevelid=("pricelevels", price_list), productid=("products", product["productid"])
            )
            new_lines.append((index, {**body, **owners}))
        elif any(_differs(line.get(name), value) for name, value in _line_values(product).items()):
            changed_lines.append((index, {"productpricelevelid": line["productpricelevelid"], **body}))
        changes: dict[str, Any] = {}
        if product["_pricelevelid_value"] != price_list:
            changes |= _binds(pricelevelid=("pricelevels", price_list))
        if bool(created.at[index]) and product["statecode"] != ACTIVE:
            changes |= {"statecode": ACTIVE, "statuscode": ACTIVE_STATUS}
        if changes:
            changed_products.append((index, {"productid": product["productid"], **changes}))
    _write(services, written, LINES, "create", new_lines)
    _write(services, written, LINES, "update", changed_lines)
    # A product whose line was refused is left as it is, as BC's error would leave it.
    refused = set(written.index[written["action"] == "fail"])
    _write(services, written, PRODUCTS, "update", [c for c in changed_products if c[0] not in refused])
    # Our own writes since the read-back must not look like a Sales user's change next time.
    modified = _read(services, "products", "productid", ids, ["productid", "modifiedon"])
    stamps = written[DESTINATION_ID].map(lambda i: (modified.get(str(i).lower()) or {}).get("modifiedon"))
    written[DESTINATION_MODIFIED] = pd.to_datetime(stamps, utc=True, format="ISO8601").where(
        stamps.notna(), written[DESTINATION_MODIFIED]
    )
    return written


def _write(
    services: Services,
    written: pd.DataFrame,
    table: tuple[str, str],
    operation: str,
    records: list[tuple[Any, dict[str, Any]]],
) -> None:
    """Send `records` (outcome row, body) to `table` (entity set, logical name) in bulk; a record the
    service refuses fails its row."""
    if not records:
        return
    outcomes = services.crm.write_many(*table, [body for _, body in records], operation)
    for (index, _), outcome in zip(records, outcomes, strict=True):
        if not outcome.ok:
            written.at[index, "action"], written.at[index, "error"] = "fail", str(outcome.error)


def _line_values(product: dict) -> dict[str, Any]:
    """What the product's price list line should hold, as read back (`_x_value` for lookups)."""
    return {
        "amount": max(float(product["price"] or 0), 0.0),
        "_uomid_value": product["_defaultuomid_value"],
        "_uomscheduleid_value": product["_defaultuomscheduleid_value"],
        "_transactioncurrencyid_value": product["_transactioncurrencyid_value"],
    }


def _line_body(product: dict) -> dict[str, Any]:
    """The line's values as a Web API body."""
    values = _line_values(product)
    body = {"amount": values["amount"]}
    body |= _binds(
        uomid=("uoms", values["_uomid_value"]),
        uomscheduleid=("uomschedules", values["_uomscheduleid_value"]),
        transactioncurrencyid=("transactioncurrencies", values["_transactioncurrencyid_value"]),
    )
    return body


def _binds(**lookups: tuple[str, str | None]) -> dict[str, str]:
    """`name@odata.bind` references for lookups that have a value."""
    return {
        f"{name}@odata.bind": f"/{entity_set}({key})" for name, (entity_set, key) in lookups.items() if key
    }


def _differs(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, float):
        return current is None or abs(float(current) - wanted) > 1e-9
    return str(current or "").lower() != str(wanted or "").lower()


def default_price_list(services: Services) -> str:
    """BC's default price list in Sales: "Business Central Default Price List" in the local currency,
    or "Business Central Default Price List <LCY>" when a list of that name has another currency;
    created when missing (BC's FindCRMDefaultPriceList / CreateCRMDefaultPriceList)."""
    currency = base_currency_id(services)
    lcy = str(services.bc.settings.extra.get("lcy_code") or DEFAULT_LCY)
    name = DEFAULT_PRICE_LIST
    for candidate in (DEFAULT_PRICE_LIST, f"{DEFAULT_PRICE_LIST} {lcy}"):
        found = _price_lists_named(services, candidate)
        if not found:
            name = candidate
            break
        same_currency = [row for row in found if row["_transactioncurrencyid_value"] == currency]
        if same_currency or candidate != DEFAULT_PRICE_LIST:
            return str((same_currency or found)[0]["pricelevelid"]).lower()
    price_list = str(uuid.uuid4())
    body: dict[str, Any] = {"pricelevelid": price_list, "name": name}
    if currency:
        body["transactioncurrencyid@odata.bind"] = f"/transactioncurrencies({currency})"
    services.crm.create("pricelevels", body)
    log.info("created the price list %r in Dynamics 365 Sales", name)
    return price_list


def _price_lists_named(services: Services, name: str) -> list[dict]:
    return [
        {**row, "pricelevelid": str(row["pricelevelid"]).lower()}
        for page in services.crm.iter_pages(
            "pricelevels",
            select=["pricelevelid", "name", "_transactioncurrencyid_value"],
            filter=odata.eq("name", name),
        )
        for row in page
    ]


def _read(
    services: Services,
    entity_set: str,
    key: str,
    ids: list[str],
    select: list[str],
    also: odata.Filter | None = None,
) -> dict[str, dict]:
    """Rows whose `key` is one of `ids` (and that match `also`), by that key; GUIDs lower-case."""
    out: dict[str, dict] = {}
    guids = [uuid.UUID(i) for i in ids]
    for page in pages_where_in(services.crm, entity_set, key, guids, select, also=also):
        for row in page:
            row = {
                k: str(v).lower() if (k.endswith("id") or k.endswith("_value")) and v else v
                for k, v in row.items()
            }
            out[row[key]] = row
    return out


def blocked_from_state(plan: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
    """Sales → BC: the item or resource is blocked unless its product is Active (BC's
    UpdateItemAfterTransferRecordFields)."""
    states = lookup_of(source, SOURCE_ID, "statecode")
    for index in plan.index[plan["action"].isin(WRITES)]:
        state = states.get(plan.at[index, SOURCE_ID])
        blocked = state is not None and not pd.isna(state) and int(state) != ACTIVE
        plan.at[index, "payload"] = {**(plan.at[index, "payload"] or {}), "blocked": blocked}
    return plan
