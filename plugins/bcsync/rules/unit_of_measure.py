"""Unit of Measure: each BC unit is a Sales unit group named "NAV <code>" holding one unit named as the code.

Without unit group mapping BC keeps one Sales unit group per unit of measure (default-mappings.md
§3.1): the group's name is forced to "NAV <code>", it must be active and hold at most one unit, and
that unit's name is corrected to the code. An uncoupled unit takes an existing "NAV <code>" group.
Products and price list items find their unit through the same groups (`pipeline/unit_groups.py`).
"""

from __future__ import annotations

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, SyncPass
from bcsync.pipeline.services import Services
from bcsync.pipeline.unit_groups import SALES, UnitGroups, group_name
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, RuleKind, lookup_of, table_rule
from bcsync.wire.errors import RecordRejected

INACTIVE = 1  # uomschedule statecode


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
        unit_misnamed = len(units) == 1 and units[0]["name"] != code
        if payload or unit_misnamed:
            plan.at[index, "action"] = "modify"
            plan.at[index, "payload"] = payload
    return plan


def _unusable(group: dict, units: list[dict]) -> str | None:
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
        units = groups.units_of(group["uomscheduleid"]) if group else []
        if len(units) != 1 or units[0]["name"] == group["baseuomname"]:
            continue
        try:
            services.crm.update("uoms", units[0]["uomid"], {"name": group["baseuomname"]})
        except RecordRejected as refused:
            written.at[index, "action"], written.at[index, "error"] = "fail", str(refused)
    return written
