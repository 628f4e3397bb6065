"""Salesperson/Purchaser: salespeople created from Sales users get BC's generated codes."""

from __future__ import annotations

import re

import pandas as pd

from bcsync.engine.model import SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import table_rule


@table_rule("Salesperson/Purchaser", SyncPass.FROM_CRM)
def sp_no_codes(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """New salespeople from Sales get the codes SP NO. 00001, SP NO. 00002, ... after the highest one."""
    highest = 0
    for page in services.bc.iter_pages(mapping.bc_endpoint.entity_set, select=["code"]):
        for row in page:
            match = re.fullmatch(r"SP NO\. 0*(\d+)", str(row.get("code") or ""))
            if match:
                highest = max(highest, int(match[1]))
    for index in plan.index[plan["action"] == "insert"]:
        highest += 1
        plan.at[index, "payload"] = {"code": f"SP NO. {highest:05d}", **(plan.at[index, "payload"] or {})}
    return plan
