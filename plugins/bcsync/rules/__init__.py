"""BC's table-specific synchronization code, one module per BC table, found by table name.

BC adds behaviour to the field mappings in event subscribers (codeunits 5341 "CRM Int. Table.
Subscriber" and 7205, and the "CRM Synch. Helper" 5342). Here each BC table's module registers its
rules with `@table_rule(<BC table>, <pass>, <kind>)`. Modules are discovered in this package, so a new
table's rules are a new module and nothing else; a table without a module (a mapping added as YAML
alone) has no rules. A rule is one of three kinds, each at the step where BC raises its event:

* `PLAN` (transform step, BC's OnAfterTransferRecordFields / OnBeforeInsertRecord): takes the planned
  rows of one pass and completes or rejects their payloads. It sees the records to insert or modify,
  and with `unchanged_too` also those whose mapped fields are unchanged (it may still write them).
* `FIND_UNCOUPLED` (couple step, BC's OnFindUncoupledDestinationRecord): finds an existing destination
  record for source records that no match criterion coupled; a pair found is synchronized at once.
* `SOURCE` (transform step, before planning): computes a mapping's `bc_computed_fields` from the
  source records read — BC code deriving a value from several fields (an invoice's payment status).
* `AFTER_WRITE` (load step, BC's OnAfterInsertRecord / OnAfterModifyRecord): writes what depends on
  the written records (another table's rows, a state change); it may fail a record.
* `AFTER_CHILDREN` (load step, for a parent mapping: once the written records' child records, such
  as invoice lines, are written too, as BC's after-insert code does): returns the follow-up updates to
  make (rows with action "modify" and their payloads).
* `FOLLOW_UP` (after the load, BC's subscribers calling SynchRecordsToIntegrationTable): names records
  of another BC table to synchronize now (`FollowUp`), e.g. a price group's prices after the group;
  `pipeline/follow_up.py` runs that table's job for them, not forced, with its own job rows.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

import pandas as pd

from bcsync.engine.model import WRITE_ACTIONS, SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping

WRITES = WRITE_ACTIONS  # what rules look at: the records a load sends

# PLAN: (mapping, plan, source, services) → plan
PlanRule = Callable[[IntegrationTableMapping, pd.DataFrame, pd.DataFrame, Services], pd.DataFrame]
# SOURCE: (mapping, source records) → those records with the computed fields
SourceRule = Callable[[IntegrationTableMapping, pd.DataFrame], pd.DataFrame]
# FIND_UNCOUPLED: (mapping, uncoupled source, destination candidates, services) → source_id, destination_id
FindRule = Callable[[IntegrationTableMapping, pd.DataFrame, pd.DataFrame, Services], pd.DataFrame]
# AFTER_WRITE: (mapping, written rows of the outcome, services) → those rows, some perhaps failed
AfterWriteRule = Callable[[IntegrationTableMapping, pd.DataFrame, Services], pd.DataFrame]
Rule = Callable[..., Any]


@dataclass(frozen=True)
class FollowUp:
    """Records of another job (by its BC table) to synchronize now, not forced: BC's
    SynchRecordsToIntegrationTable(records, IgnoreChanges = false) from a subscriber."""

    bc_table: str
    bc_ids: tuple[str, ...]


# FOLLOW_UP: (mapping, the pass's settled rows (source_id, action), services) → FollowUp or None
FollowUpRule = Callable[[IntegrationTableMapping, pd.DataFrame, Services], FollowUp | None]


class RuleKind(StrEnum):
    PLAN = "plan"
    SOURCE = "source"
    FIND_UNCOUPLED = "find_uncoupled"
    AFTER_WRITE = "after_write"
    AFTER_CHILDREN = "after_children"
    FOLLOW_UP = "follow_up"


_RULES: dict[tuple[str, SyncPass, RuleKind], Rule] = {}
_SEES_UNCHANGED: set[tuple[str, SyncPass, RuleKind]] = set()


def table_rule(
    bc_table: str, sync_pass: SyncPass, kind: RuleKind = RuleKind.PLAN, *, unchanged_too: bool = False
) -> Callable[[Rule], Rule]:
    """Register `rule` for the mappings of `bc_table` (BC's table name, e.g. "Currency") in `sync_pass`."""
    if unchanged_too and kind is not RuleKind.PLAN:
        raise ValueError("unchanged_too applies to PLAN rules only")

    def register(rule: Rule) -> Rule:
        key = (bc_table.casefold(), sync_pass, kind)
        if key in _RULES:
            raise ValueError(
                f"two {kind.value} rules for BC table {bc_table} {sync_pass.value}: {_RULES[key]} and {rule}"
            )
        _RULES[key] = rule
        if unchanged_too:
            _SEES_UNCHANGED.add(key)
        return rule

    return register


@cache
def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def rule_for(bc_table: str, sync_pass: SyncPass, kind: RuleKind = RuleKind.PLAN) -> Rule | None:
    _discover()
    return _RULES.get((bc_table.casefold(), sync_pass, kind))


def apply_table_rules(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    plan: pd.DataFrame,
    source: pd.DataFrame,
    services: Services,
) -> pd.DataFrame:
    """The plan with the BC table's PLAN rule for this pass applied (when it has one and the plan has
    rows it looks at: records to write, or unchanged ones for a rule that sees those too)."""
    rule = rule_for(mapping.bc_table, sync_pass)
    if rule is None or plan.empty:
        return plan
    sees_unchanged = (mapping.bc_table.casefold(), sync_pass, RuleKind.PLAN) in _SEES_UNCHANGED
    seen = WRITES + (("unchanged",) if sees_unchanged else ())
    if not plan["action"].isin(seen).any():
        return plan
    return rule(mapping, plan, source, services)


def apply_source_rules(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, source: pd.DataFrame
) -> pd.DataFrame:
    """The source records with the computed fields of the BC table's SOURCE rule, if it has one."""
    rule = rule_for(mapping.bc_table, sync_pass, RuleKind.SOURCE)
    if rule is None or not mapping.bc_computed_fields or source.empty:
        return source
    return rule(mapping, source)


def find_uncoupled(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    uncoupled: pd.DataFrame,
    candidates: pd.DataFrame,
    services: Services,
) -> pd.DataFrame:
    """Pairs (`source_id`, `destination_id`) the table's FIND_UNCOUPLED rule finds; none without one."""
    rule = rule_for(mapping.bc_table, sync_pass, RuleKind.FIND_UNCOUPLED)
    if rule is None or uncoupled.empty or candidates.empty:
        return pd.DataFrame(columns=["source_id", "destination_id"])
    return rule(mapping, uncoupled, candidates, services)


def apply_after_write_rules(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, outcome: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """The load's outcome after the table's AFTER_WRITE rule ran on the records written."""
    rule = rule_for(mapping.bc_table, sync_pass, RuleKind.AFTER_WRITE)
    written = outcome["action"].isin(WRITES) if len(outcome) else None
    if rule is None or written is None or not written.any():
        return outcome
    done = rule(mapping, outcome.loc[written].copy(), services)
    outcome.loc[done.index, done.columns] = done
    return outcome


def lookup_of(frame: pd.DataFrame, key: str, value: str) -> dict[Any, Any]:
    """`key` column → `value` column of a frame (empty when either is missing)."""
    if key not in frame.columns or value not in frame.columns:
        return {}
    return dict(zip(frame[key], frame[value], strict=True))


def follow_up_after(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, settled: pd.DataFrame, services: Services
) -> FollowUp | None:
    """What the BC table's FOLLOW_UP rule asks to synchronize after this pass settled these records."""
    rule = rule_for(mapping.bc_table, sync_pass, RuleKind.FOLLOW_UP)
    if rule is None or settled.empty:
        return None
    return rule(mapping, settled, services)
