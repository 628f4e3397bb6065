"""Sales Price: a customer price group's price as a Sales price list item, in the "NAV <unit>" group's unit.

BC (cu 5341, legacy pricing): after the fields are transferred, the item's unit comes from the price's
unit of measure, or the item's base unit when it has none; an uncoupled price is coupled to the price
list item that already has its price list, product and unit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, SyncPass
from bcsync.pipeline.lookups import build_lookups
from bcsync.pipeline.reading import pages_where_in
from bcsync.pipeline.services import Services
from bcsync.pipeline.unit_groups import SalesUnit, UnitGroupError, UnitGroups
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, RuleKind, table_rule

GROUP_MAPPING = "CUSTPRCGRP-PRICE"
ITEM_MAPPING = "ITEM-PRODUCT"


@table_rule("Sales Price", SyncPass.TO_CRM)
def unit_of_measure(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """The price list item's unit and unit group: the "NAV <code>" group of the price's unit."""
    writes = plan.index[plan["action"].isin(WRITES)]
    units = PriceUnits(source.set_index(SOURCE_ID), services)
    for index in writes:
        try:
            unit = units.of(plan.at[index, SOURCE_ID])
        except UnitGroupError as error:
            plan.at[index, "action"] = "fail"
            plan.at[index, "error"] = str(error)
            continue
        plan.at[index, "payload"] = {
            **(plan.at[index, "payload"] or {}),
            "uomid": unit.unit_id,
            "uomscheduleid": unit.schedule_id,
        }
    return plan


@table_rule("Sales Price", SyncPass.TO_CRM, RuleKind.FIND_UNCOUPLED)
def same_price_list_product_and_unit(
    mapping: IntegrationTableMapping, uncoupled: pd.DataFrame, _candidates: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """The price list item that has the price's price list, product and unit (BC's
    CRMPriceListLineFindUncoupledDestinationRecord); prices whose group or item is not coupled have none.
    It reads the items of the price lists concerned by their lookups, not the candidates."""
    lookups = build_lookups(mapping, SyncPass.TO_CRM, services)
    price_lists, products = lookups[GROUP_MAPPING].values, lookups[ITEM_MAPPING].values
    units = PriceUnits(uncoupled.set_index(SOURCE_ID), services)
    wanted: dict[tuple[str, str, str], str] = {}
    for row in uncoupled.itertuples(index=False):
        price_list = price_lists.get(_code(row.salesCode))
        product = products.get(_code(row.itemNo))
        if not (price_list and product):
            continue
        try:
            unit = units.of(row.source_id)
        except UnitGroupError:
            continue  # the plan fails the price with BC's message
        wanted[(str(price_list).lower(), str(product).lower(), unit.unit_id)] = row.source_id
    found = []
    for item in _price_list_items(services, {key[0] for key in wanted}):
        key = (item["_pricelevelid_value"], item["_productid_value"], item["_uomid_value"])
        if key in wanted:
            found.append({SOURCE_ID: wanted[key], DESTINATION_ID: item["productpricelevelid"]})
    return pd.DataFrame(found, columns=[SOURCE_ID, DESTINATION_ID])


@dataclass
class PriceUnits:
    """Each price's Sales unit: its unit of measure, or its item's base unit when it has none."""

    prices: pd.DataFrame  # source records by source id: itemNo, unitOfMeasureCode
    services: Services

    def __post_init__(self) -> None:
        self._groups: UnitGroups | None = None
        self._base_units: dict[str, str] | None = None

    def of(self, source_id: str) -> SalesUnit:
        price = self.prices.loc[source_id]
        code = str(price.get("unitOfMeasureCode") or "").strip()
        if not code:
            code = self._base_unit(str(price["itemNo"]))
        if self._groups is None:
            self._groups = UnitGroups.read(self.services)
        return self._groups.unit_for(code)

    def _base_unit(self, item_no: str) -> str:
        if self._base_units is None:
            items = self.prices["itemNo"].dropna().astype(str).unique().tolist()
            pages = pages_where_in(
                self.services.bc, "items", "number", items, ["number", "baseUnitOfMeasureCode"]
            )
            self._base_units = {
                _code(row["number"]): str(row.get("baseUnitOfMeasureCode") or "")
                for page in pages
                for row in page
            }
        return self._base_units.get(_code(item_no), "")


def _price_list_items(services: Services, price_lists: set[str]) -> list[dict[str, str]]:
    select = ["productpricelevelid", "_pricelevelid_value", "_productid_value", "_uomid_value"]
    guids = [uuid.UUID(p) for p in price_lists]
    return [
        {k: str(v).lower() for k, v in row.items() if not k.startswith("@")}
        for page in pages_where_in(services.crm, "productpricelevels", "_pricelevelid_value", guids, select)
        for row in page
    ]


def _code(value: object) -> str:
    return str(value or "").strip().upper()
