"""Unit of Measure: each BC unit is a Sales unit group named "NAV <code>" holding one unit named as the code.

Without unit group mapping BC keeps one Sales unit group per unit of measure (default-mappings.md
§3.1): the group's name is forced to "NAV <code>", it must be active and hold at most one unit, and
that unit's name is corrected to the code. An uncoupled unit takes an existing "NAV <code>" group.
Products find their default unit through the same groups (`unit_of` here, used by `product`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, RuleKind, lookup_of, table_rule
from bcsync.wire.errors import RecordRejected

SALES = "Dynamics 365 Sales"
INACTIVE = 1  # uomschedule statecode


def group_name(code: str) -> str:
    """BC's unit group name for a unit of measure code ("NAV " + code, at most 200 characters)."""
    return f"NAV {code}"[:200]


@dataclass(frozen=True)
class UnitGroups:
    """Sales' unit groups and their units, read once per rule call (small tables)."""

    groups: pd.DataFrame  # uomscheduleid, name, baseuomname, statecode
    units: pd.DataFrame  # uomid, name, uomscheduleid, quantity, isschedulebaseuom

    @classmethod
    def read(cls, services: Services) -> UnitGroups:
        groups = _rows(services, "uomschedules", ["uomscheduleid", "name", "baseuomname", "statecode"])
        units = _rows(
            services, "uoms", ["uomid", "name", "_uomscheduleid_value", "quantity", "isschedulebaseuom"]
        ).rename(columns={"_uomscheduleid_value": "uomscheduleid"})
        return cls(groups, units)

    def named(self, name: str) -> pd.DataFrame:
        """The groups with this name (Dataverse compares names without regard to case)."""
        return self.groups[self.groups["name"].astype(str).str.casefold() == name.casefold()]

    def group(self, group_id: str) -> dict | None:
        rows = self.groups[self.groups["uomscheduleid"] == str(group_id).lower()]
        return rows.iloc[0].to_dict() if len(rows) else None

    def units_of(self, group_id: str) -> pd.DataFrame:
        return self.units[self.units["uomscheduleid"] == str(group_id).lower()]

    def unit_of(self, code: str) -> tuple[str, str]:
        """(unit group id, unit id) of a BC unit code, checked as BC's CRM Synch. Helper does before
        a product uses them; raises `UnitGroupError` with BC's message."""
        name = group_name(code)
        found = self.named(name)
        if found.empty:
            raise UnitGroupError(f"Cannot find the unit group '{name}' in {SALES}.")
        if len(found) > 1:
            raise UnitGroupError(
                f"Multiple units of measure were found in the unit group '{name}' in {SALES}."
            )
        group = found.iloc[0]
        units = self.units_of(group["uomscheduleid"])
        if units.empty:
            raise UnitGroupError(
                f"Cannot find any unit of measure inside the unit group '{group['name']}' in {SALES}."
            )
        if len(units) > 1:
            raise UnitGroupError(
                f"Multiple units of measure were found in the unit group '{group['name']}' in {SALES}."
            )
        unit = units.iloc[0]
        if unit["name"] != code:
            raise UnitGroupError(
                f"The unit of measure in the unit group '{group['name']}' has an incorrect name: "
                f"expected name '{code}', found name '{unit['name']}'."
            )
        if not bool(unit["isschedulebaseuom"]):
            raise UnitGroupError(
                f"The unit of measure '{unit['name']}' is not the base unit of measure of the unit group "
                f"'{group['name']}'."
            )
        if float(unit["quantity"]) != 1:
            raise UnitGroupError(f"The quantity on the unit of measure '{unit['name']}' should be 1.")
        return str(group["uomscheduleid"]), str(unit["uomid"])


class UnitGroupError(ValueError):
    """A Sales unit group BC cannot use; the message is BC's."""


def _rows(services: Services, entity_set: str, select: list[str]) -> pd.DataFrame:
    rows = [row for page in services.crm.iter_pages(entity_set, select=select) for row in page]
    frame = pd.DataFrame(rows, columns=select)
    for column in ("uomscheduleid", "uomid", "_uomscheduleid_value"):
        if column in frame.columns:
            frame[column] = frame[column].astype(str).str.lower()
    return frame


@table_rule("Unit of Measure", SyncPass.TO_CRM, RuleKind.FIND_UNCOUPLED)
def existing_nav_unit_group(
    mapping: IntegrationTableMapping, uncoupled: pd.DataFrame, candidates: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """An uncoupled unit of measure takes the Sales unit group named "NAV <code>" (the first one)."""
    if "name" not in candidates.columns:
        return pd.DataFrame(columns=[SOURCE_ID, DESTINATION_ID])
    first_by_name = (
        candidates.assign(key=candidates["name"].astype(str).str.casefold())
        .drop_duplicates("key")
        .set_index("key")[DESTINATION_ID]
    )
    wanted = uncoupled[SOURCE_ID].to_frame()
    wanted["key"] = [group_name(str(code)).casefold() for code in uncoupled["code"]]
    wanted[DESTINATION_ID] = wanted["key"].map(first_by_name)
    return wanted.dropna(subset=[DESTINATION_ID])[[SOURCE_ID, DESTINATION_ID]]


@table_rule("Unit of Measure", SyncPass.TO_CRM, unchanged_too=True)
def unit_group_named_nav_code(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """The group is named "NAV <code>"; a coupled group must be active and hold at most one unit,
    and is written again when its name or its unit's name is not BC's (the unit is renamed after)."""
    codes = lookup_of(source, SOURCE_ID, "code")
    seen = plan["action"].isin([*WRITES, "unchanged"])
    existing = UnitGroups.read(services) if (seen & (plan["action"] != "insert")).any() else None
    for index in plan.index[seen]:
        code = str(codes.get(plan.at[index, SOURCE_ID], ""))
        name = group_name(code)
        payload = dict(plan.at[index, "payload"] or {})
        if plan.at[index, "action"] == "insert":
            plan.at[index, "payload"] = {**payload, "name": name}
            continue
        group = existing.group(plan.at[index, DESTINATION_ID]) if existing else None
        if group is None:
            continue
        units = existing.units_of(group["uomscheduleid"])
        error = _unusable(group, units)
        if error:
            plan.at[index, "action"], plan.at[index, "error"] = "fail", error
            continue
        if group["name"] != name:
            payload["name"] = name
        unit_misnamed = len(units) == 1 and units.iloc[0]["name"] != code
        if payload or unit_misnamed:
            plan.at[index, "action"] = "modify"
            plan.at[index, "payload"] = payload
    return plan


def _unusable(group: dict, units: pd.DataFrame) -> str | None:
    if group["statecode"] == INACTIVE:
        return (
            f"The Unit Group {group['name']} already exists in {SALES}, but it cannot be synchronized, "
            "because it is inactive."
        )
    if len(units) > 1:
        return (
            f"The {SALES} Unit Group {group['name']} contains more than one Unit. This setup cannot be "
            "used for synchronization."
        )
    return None


@table_rule("Unit of Measure", SyncPass.TO_CRM, RuleKind.AFTER_WRITE)
def unit_named_as_code(
    mapping: IntegrationTableMapping, written: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """The group's one unit is named as the code, its `baseuomname` (Dataverse names a new group's
    base unit after it; a unit renamed in Sales is renamed back)."""
    groups = UnitGroups.read(services)
    for index in written.index:
        group = groups.group(written.at[index, DESTINATION_ID])
        units = groups.units_of(group["uomscheduleid"]) if group else pd.DataFrame()
        if len(units) != 1 or units.iloc[0]["name"] == group["baseuomname"]:
            continue
        try:
            services.crm.update("uoms", units.iloc[0]["uomid"], {"name": group["baseuomname"]})
        except RecordRejected as refused:
            written.at[index, "action"], written.at[index, "error"] = "fail", str(refused)
    return written
