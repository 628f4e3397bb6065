"""The rules registry: one rule per BC table, pass and kind; which plans a PLAN rule is shown."""

from __future__ import annotations

import pandas as pd
import pytest

from bcsync.engine.model import SyncPass
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import RuleKind, apply_table_rules, find_uncoupled, rule_for, table_rule

TABLE = "Rule Kinds Test Table"  # a BC table no mapping has


def mapping() -> IntegrationTableMapping:
    return IntegrationTableMapping(
        name="RULE-KINDS",
        bc_table=TABLE,
        bc_endpoint={"api": "v2.0", "entity_set": "things"},
        crm_entity="thing",
        crm_entity_set="things",
        crm_key="thingid",
        direction="ToIntegrationTable",
        fields=[
            {"bc_caption": "Code", "bc_field": "code", "crm_field": "name", "direction": "ToIntegrationTable"}
        ],
    )


def plan(*actions: str) -> pd.DataFrame:
    return pd.DataFrame({"source_id": [f"s{i}" for i in range(len(actions))], "action": list(actions)})


def first(*args):
    return args[1].assign(seen=True)


# Registered once, at import, as a rules module does.
table_rule(TABLE, SyncPass.TO_CRM, unchanged_too=True)(first)
table_rule(TABLE, SyncPass.TO_CRM, RuleKind.AFTER_WRITE)(first)


def test_each_kind_is_registered_apart_and_twice_the_same_is_refused():
    assert rule_for(TABLE, SyncPass.TO_CRM) is first
    assert rule_for(TABLE, SyncPass.TO_CRM, RuleKind.AFTER_WRITE) is first
    assert rule_for(TABLE, SyncPass.TO_CRM, RuleKind.FIND_UNCOUPLED) is None
    with pytest.raises(ValueError, match="two plan rules"):
        table_rule(TABLE, SyncPass.TO_CRM)(first)
    with pytest.raises(ValueError, match="PLAN rules only"):
        table_rule(TABLE, SyncPass.FROM_CRM, RuleKind.AFTER_WRITE, unchanged_too=True)


def test_a_plan_rule_that_sees_unchanged_records_gets_plans_without_writes():
    shown = apply_table_rules(mapping(), SyncPass.TO_CRM, plan("unchanged", "ignore"), pd.DataFrame(), None)
    assert shown["seen"].all()
    hidden = apply_table_rules(mapping(), SyncPass.TO_CRM, plan("ignore", "skip"), pd.DataFrame(), None)
    assert "seen" not in hidden.columns


def test_without_a_find_rule_no_pair_is_found():
    found = find_uncoupled(mapping(), SyncPass.FROM_CRM, plan("insert"), plan("x"), None)
    assert found.empty and list(found.columns) == ["source_id", "destination_id"]
