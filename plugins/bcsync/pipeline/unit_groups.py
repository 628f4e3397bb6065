"""BC's "NAV <code>" unit groups in Sales: the unit group and its one unit for a BC unit of measure code.

Without unit group mapping, BC finds a unit of measure's Sales unit by the group's name, and checks the
group as CRM Synch. Helper's GetValidCRMUnitOfMeasureRecords does (one group of that name, holding one
unit named as the code, the group's base unit, quantity 1), failing the record with its messages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bcsync.pipeline.services import Services

SALES = "Dynamics 365 Sales"


@dataclass(frozen=True)
class SalesUnit:
    schedule_id: str  # uomscheduleid of the "NAV <code>" group
    unit_id: str  # uomid of its unit


class UnitGroupError(ValueError):
    """The "NAV <code>" group cannot be used; the message is BC's."""


class UnitGroups:
    """Sales' "NAV …" unit groups and their units, read once."""

    def __init__(self, services: Services) -> None:
        self._groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for page in services.crm.iter_pages(
            "uomschedules", select=["uomscheduleid", "name"], filter="startswith(name,'NAV ')"
        ):
            for row in page:
                self._groups[str(row["name"])].append(row)
        self._units: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for page in services.crm.iter_pages(
            "uoms", select=["uomid", "name", "_uomscheduleid_value", "quantity", "isschedulebaseuom"]
        ):
            for row in page:
                self._units[str(row["_uomscheduleid_value"]).lower()].append(row)

    def unit_for(self, code: str) -> SalesUnit:
        """The Sales unit of BC unit of measure `code`; raises `UnitGroupError` with BC's message."""
        name = f"NAV {code}"
        groups = self._groups.get(name, [])
        if not groups:
            raise UnitGroupError(f"Cannot find the unit group '{name}' in {SALES}.")
        if len(groups) > 1:
            raise UnitGroupError(
                f"Multiple units of measure were found in the unit group '{name}' in {SALES}."
            )
        schedule_id = str(groups[0]["uomscheduleid"]).lower()
        units = self._units.get(schedule_id, [])
        if not units:
            raise UnitGroupError(
                f"Cannot find any unit of measure inside the unit group '{name}' in {SALES}."
            )
        if len(units) > 1:
            raise UnitGroupError(
                f"Multiple units of measure were found in the unit group '{name}' in {SALES}."
            )
        unit = units[0]
        if unit["name"] != code:
            raise UnitGroupError(
                f"The unit of measure in the unit group '{name}' has an incorrect name: expected name "
                f"'{code}', found name '{unit['name']}'."
            )
        if not unit.get("isschedulebaseuom"):
            raise UnitGroupError(
                f"The unit of measure '{unit['name']}' is not the base unit of measure of the unit group "
                f"'{name}'."
            )
        if Decimal(str(unit.get("quantity") or 0)) != 1:
            raise UnitGroupError(f"The quantity on the unit of measure '{unit['name']}' should be 1.")
        return SalesUnit(schedule_id, str(unit["uomid"]).lower())
