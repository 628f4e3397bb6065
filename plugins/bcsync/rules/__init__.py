"""BC's table-specific synchronization code, one module per BC table, found by table name.

BC adds behaviour to the field mappings in event subscribers (codeunits 5341 "CRM Int. Table.
Subscriber" and 7205, and the "CRM Synch. Helper" 5342). Here each BC table's module registers its
rules with `@table_rule(<BC table>, <pass>)`; a rule takes the planned rows of one pass and completes
or rejects their payloads. Modules are discovered in this package, so a new table's rules are a new
module and nothing else; a table without a module (a mapping added as YAML alone) has no rules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import pandas as pd

from bcsync.engine.model import SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping

Rule = Callable[[IntegrationTableMapping, pd.DataFrame, pd.DataFrame, Services], pd.DataFrame]
WRITES = ("insert", "modify")

SourceRule = Callable[[IntegrationTableMapping, pd.DataFrame], pd.DataFrame]

R = TypeVar("R", Rule, SourceRule)

_RULES: dict[tuple[str, SyncPass], Rule] = {}
_SOURCE_RULES: dict[tuple[str, SyncPass], SourceRule] = {}


def table_rule(bc_table: str, sync_pass: SyncPass) -> Callable[[Rule], Rule]:
    """Register `rule` for the mappings of `bc_table` (BC's table name, e.g. "Currency") in `sync_pass`."""
    return _registrar(_RULES, "rules", bc_table, sync_pass)


def source_rule(bc_table: str, sync_pass: SyncPass) -> Callable[[SourceRule], SourceRule]:
    """Register `rule` computing a mapping's `bc_computed_fields` from the source records read, before
    they are planned: BC code that derives a value from several fields (an invoice's payment status)."""
    return _registrar(_SOURCE_RULES, "source rules", bc_table, sync_pass)


def _registrar(
    rules: dict[tuple[str, SyncPass], R], kind: str, bc_table: str, sync_pass: SyncPass
) -> Callable[[R], R]:
    def register(rule: R) -> R:
        key = (bc_table.casefold(), sync_pass)
        if key in rules:
            raise ValueError(f"two {kind} for BC table {bc_table} {sync_pass.value}: {rules[key]} and {rule}")
        rules[key] = rule
        return rule

    return register


def apply_source_rules(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, source: pd.DataFrame
) -> pd.DataFrame:
    """The source records with the computed fields of the BC table's source rule, if it has one."""
    _discover()
    rule = _SOURCE_RULES.get((mapping.bc_table.casefold(), sync_pass))
    if rule is None or not mapping.bc_computed_fields or source.empty:
        return source
    return rule(mapping, source)


@cache
def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def rule_for(bc_table: str, sync_pass: SyncPass) -> Rule | None:
    _discover()
    return _RULES.get((bc_table.casefold(), sync_pass))


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
