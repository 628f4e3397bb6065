"""BC's table-specific synchronization code, one module per BC table, found by table name.

BC adds behaviour to the field mappings in event subscribers (codeunits 5341 "CRM Int. Table.
Subscriber" and 7205, and the "CRM Synch. Helper" 5342). Here each BC table's module registers its
rules with `@table_rule(<BC table>, <pass>)`; a rule takes the planned rows of one pass and completes
or rejects their payloads. Modules are discovered in this package, so a new table's rules are a new
module and nothing else; a table without a module (a mapping added as YAML alone) has no rules.

Two more of BC's events have registries of their own: `@destination_finder` (BC's
OnFindUncoupledDestinationRecord: an uncoupled record's existing counterpart, coupled before planning)
and `@after_write` (records of another job synchronized right after a pass, as BC's after-insert,
-modify and -unchanged subscribers call SynchRecordsToIntegrationTable).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd

from bcsync.engine.model import SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping

Rule = Callable[[IntegrationTableMapping, pd.DataFrame, pd.DataFrame, Services], pd.DataFrame]
WRITES = ("insert", "modify")

_RULES: dict[tuple[str, SyncPass], Rule] = {}


def table_rule(bc_table: str, sync_pass: SyncPass) -> Callable[[Rule], Rule]:
    """Register `rule` for the mappings of `bc_table` (BC's table name, e.g. "Currency") in `sync_pass`."""

    def register(rule: Rule) -> Rule:
        key = (bc_table.casefold(), sync_pass)
        if key in _RULES:
            raise ValueError(f"two rules for BC table {bc_table} {sync_pass.value}: {_RULES[key]} and {rule}")
        _RULES[key] = rule
        return rule

    return register


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


# ---- BC's "find the uncoupled destination" and "synchronize related records after" events ------------

Finder = Callable[[IntegrationTableMapping, pd.DataFrame, Services], pd.DataFrame]


@dataclass(frozen=True)
class FollowUp:
    """Records of another job (by its BC table) to synchronize now, not forced: BC's
    SynchRecordsToIntegrationTable(records, IgnoreChanges = false) from a subscriber."""

    bc_table: str
    bc_ids: tuple[str, ...]


AfterWrite = Callable[[IntegrationTableMapping, pd.DataFrame, Services], FollowUp | None]

_FINDERS: dict[tuple[str, SyncPass], Finder] = {}
_AFTER_WRITE: dict[tuple[str, SyncPass], AfterWrite] = {}


def destination_finder(bc_table: str, sync_pass: SyncPass) -> Callable[[Finder], Finder]:
    """Register a finder: uncoupled source records (engine columns) → the pairs it found, columns
    `source_id` and `destination_id`; the couple step couples them and the plan writes them."""

    def register(finder: Finder) -> Finder:
        return _register(_FINDERS, bc_table, sync_pass, finder)

    return register


def after_write(bc_table: str, sync_pass: SyncPass) -> Callable[[AfterWrite], AfterWrite]:
    """Register a follow-up: the pass's settled records (`source_id`, `action`) → what to synchronize."""

    def register(hook: AfterWrite) -> AfterWrite:
        return _register(_AFTER_WRITE, bc_table, sync_pass, hook)

    return register


def find_uncoupled_destinations(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, uncoupled: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """The counterparts the BC table's finder found for these uncoupled records (none without one)."""
    _discover()
    finder = _FINDERS.get((mapping.bc_table.casefold(), sync_pass))
    if finder is None or uncoupled.empty:
        return pd.DataFrame(columns=["source_id", "destination_id"])
    return finder(mapping, uncoupled, services)


def follow_up_after(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, settled: pd.DataFrame, services: Services
) -> FollowUp | None:
    """What the BC table's follow-up asks to synchronize after this pass settled these records."""
    _discover()
    hook = _AFTER_WRITE.get((mapping.bc_table.casefold(), sync_pass))
    if hook is None or settled.empty:
        return None
    return hook(mapping, settled, services)


def _register(
    registry: dict[tuple[str, SyncPass], Any], bc_table: str, sync_pass: SyncPass, hook: Any
) -> Any:
    key = (bc_table.casefold(), sync_pass)
    if key in registry:
        raise ValueError(f"two hooks for BC table {bc_table} {sync_pass.value}: {registry[key]} and {hook}")
    registry[key] = hook
    return hook
