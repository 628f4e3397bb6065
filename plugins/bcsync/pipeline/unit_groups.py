"""BC's "NAV <code>" unit groups in Sales: the unit group and its one unit for a BC unit of measure code.

Without unit group mapping, BC keeps one Sales unit group per unit of measure, named "NAV <code>"
(UNITOFMEASURE writes them). Products and price list items find a unit's Sales unit by that name and
check the group as CRM Synch. Helper's GetValidCRMUnitOfMeasureRecords does (one group of that name,
holding one unit named as the code, the group's base unit, quantity 1), failing the record with its
messages. Like BC, which caches both tables, the groups and units are read once per rule call.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bcsync.pipeline.services import Services

SALES = "Dynamics 365 Sales"
GROUP_COLUMNS = ["uomscheduleid", "name", "baseuomname", "statecode"]
UNIT_COLUMNS = ["uomid", "name", "_uomscheduleid_value", "quantity", "isschedulebaseuom"]


def group_name(code: str) -> str:
    """BC's unit group name for a unit of measure code ("NAV " + code, at most 200 characters)."""
    return f"NAV {code}"[:200]


@dataclass(frozen=True)
class SalesUnit:
    schedule_id: str  # uomscheduleid of the "NAV <code>" group
    unit_id: str  # uomid of its unit


class UnitGroupError(ValueError):
    """The "NAV <code>" group cannot be used; the message is BC's."""


@dataclass(frozen=True)
class UnitGroups:
    """Sales' unit groups and their units (GUIDs lower-case; a unit's group id as `uomscheduleid`)."""

    groups: dict[str, dict[str, Any]]  # by uomscheduleid
    units: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by uomscheduleid
    by_name: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by casefolded name

    @classmethod
    def read(cls, services: Services) -> UnitGroups:
        groups: dict[str, dict[str, Any]] = {}
        by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in _rows(services, "uomschedules", GROUP_COLUMNS):
            groups[row["uomscheduleid"]] = row
            by_name[str(row["name"]).casefold()].append(row)
        units: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in _rows(services, "uoms", UNIT_COLUMNS):
            row["uomscheduleid"] = row.pop("_uomscheduleid_value")
            units[row["uomscheduleid"]].append(row)
        return cls(groups, dict(units), dict(by_name))

    def named(self, name: str) -> list[dict[str, Any]]:
        """The groups with this name (Dataverse compares names without regard to case)."""
        return self.by_name.get(name.casefold(), [])

    def group(self, group_id: str) -> dict[str, Any] | None:
        return self.groups.get(str(group_id).lower())

    def units_of(self, group_id: str) -> list[dict[str, Any]]:
        return self.units.get(str(group_id).lower(), [])

    def unit_for(self, code: str) -> SalesUnit:
        """The Sales unit of BC unit of measure `code`, checked in BC's order; raises `UnitGroupError`
        with BC's message (the group's name as BC expects it until one group is found, then as found)."""
        name = group_name(code)
        found = self.named(name)
        if not found:
            raise UnitGroupError(f"Cannot find the unit group '{name}' in {SALES}.")
        if len(found) > 1:
            raise UnitGroupError(
                f"Multiple units of measure were found in the unit group '{name}' in {SALES}."
            )
        group = found[0]
        units = self.units_of(group["uomscheduleid"])
        if not units:
            raise UnitGroupError(
                f"Cannot find any unit of measure inside the unit group '{group['name']}' in {SALES}."
            )
        if len(units) > 1:
            raise UnitGroupError(
                f"Multiple units of measure were found in the unit group '{group['name']}' in {SALES}."
            )
        unit = units[0]
        if unit["name"] != code:
            raise UnitGroupError(
                f"The unit of measure in the unit group '{group['name']}' has an incorrect name: "
                f"expected name '{code}', found name '{unit['name']}'."
            )
        if not unit.get("isschedulebaseuom"):
            raise UnitGroupError(
                f"The unit of measure '{unit['name']}' is not the base unit of measure of the unit group "
                f"'{group['name']}'."
            )
        if Decimal(str(unit.get("quantity") or 0)) != 1:
            raise UnitGroupError(f"The quantity on the unit of measure '{unit['name']}' should be 1.")
        return SalesUnit(group["uomscheduleid"], unit["uomid"])


def _rows(services: Services, entity_set: str, select: list[str]) -> list[dict[str, Any]]:
    """All rows of a small table, ids lower-case (the Web API's annotations left out)."""
    ids = {"uomscheduleid", "uomid", "_uomscheduleid_value"}
    return [
        {name: str(row.get(name)).lower() if name in ids else row.get(name) for name in select}
        for page in services.crm.iter_pages(entity_set, select=select)
        for row in page
    ]
