"""BC's table-specific synchronization code, one module per BC table, found by table name.

BC adds behaviour to the field mappings in event subscribers (codeunits 5341 "CRM Int. Table.
Subscriber" and 7205, and the "CRM Synch. Helper" 5342). Here each BC table's module registers its
rules with `@table_rule(<BC table>, <pass>)`; a rule takes the planned rows of one pass and completes
or rejects their payloads. Modules are discovered in this package, so a new table's rules are a new
module and nothing else; a table without a module (a mapping added as YAML alone) has no rules.

A rule runs at one of two stages: `PLAN` (the default) completes the planned payloads before anything
is written, as BC's before-insert/before-modify subscribers do; `AFTER_CHILDREN` runs in the load step
once the written records' child records (invoice lines) are written too, as BC's after-insert code
does, and returns the follow-up updates to make (rows with action "modify" and their payloads).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from enum import StrEnum
from functools import cache

import pandas as pd

from bcsync.engine.model import SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping

Rule = Callable[[IntegrationTableMapping, pd.DataFrame, pd.DataFrame, Services], pd.DataFrame]
WRITES = ("insert", "modify")


class RuleStage(StrEnum):
    PLAN = "plan"  # before writing: complete or reject the planned payloads
    AFTER_CHILDREN = "after children"  # after the records and their children are written: follow-ups


_RULES: dict[tuple[str, SyncPass, RuleStage], Rule] = {}


def table_rule(
    bc_table: str, sync_pass: SyncPass, stage: RuleStage = RuleStage.PLAN
) -> Callable[[Rule], Rule]:
    """Register `rule` for the mappings of `bc_table` (BC's table name, e.g. "Currency") in `sync_pass`."""

    def register(rule: Rule) -> Rule:
        key = (bc_table.casefold(), sync_pass, stage)
        if key in _RULES:
            where = f"BC table {bc_table} {sync_pass.value} ({stage.value})"
            raise ValueError(f"two rules for {where}: {_RULES[key]} and {rule}")
        _RULES[key] = rule
        return rule

    return register


@cache
def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def rule_for(bc_table: str, sync_pass: SyncPass, stage: RuleStage = RuleStage.PLAN) -> Rule | None:
    _discover()
    return _RULES.get((bc_table.casefold(), sync_pass, stage))


def apply_table_rules(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    plan: pd.DataFrame,
    source: pd.DataFrame,
    services: Services,
) -> pd.DataFrame:
    """The plan with the BC table's rule for this pass applied (when it has one and anything is written)."""
    rule = rule_for(mapping.bc_table, sync_pass)
    if rule is None or plan.empty or not plan["action"].isin(WRITES).any():
        return plan
    return rule(mapping, plan, source, services)
