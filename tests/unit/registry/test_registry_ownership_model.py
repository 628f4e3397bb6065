"""The ownership model in effect decides which mappings and fields exist (default-mappings.md §2.1)."""

from __future__ import annotations

import pytest

from bcsync.registry import OwnershipModel, RegistryError, load_registry
from bcsync.registry.ownership import ENV_OWNERSHIP_MODEL, ownership_model_in_effect

OWNER_FIELDS = {"owneridtype", "ownerid"}


def crm_fields(registry, name: str) -> set[str]:
    return {f.crm_field for f in registry.get(name).fields if f.crm_field}


def test_person_is_bcs_default_with_salespeople_and_the_owner_fields(monkeypatch) -> None:
    monkeypatch.delenv(ENV_OWNERSHIP_MODEL, raising=False)
    registry = load_registry(strict=True)
    assert ownership_model_in_effect() is OwnershipModel.PERSON
    assert registry.get("SALESPEOPLE").dag_id == "bcsync_salespeople"
    for name in ("CUSTOMER", "CONTACT", "POSTEDSALESINV-INV"):
        assert crm_fields(registry, name) >= OWNER_FIELDS
    assert registry.get("CUSTOMER").dependencies == ("SALESPEOPLE", "CURRENCY")


def test_team_drops_salespeople_its_dependencies_and_the_owner_fields(monkeypatch) -> None:
    monkeypatch.setenv(ENV_OWNERSHIP_MODEL, "Team")
    registry = load_registry(strict=True)  # no problem: nothing refers to what dropped out
    assert "SALESPEOPLE" not in {m.name for m in registry.mappings}
    with pytest.raises(KeyError):
        registry.get("SALESPEOPLE")
    assert not any(f.ownership_model for m in registry.mappings for f in m.fields)
    for name in ("CUSTOMER", "CONTACT", "POSTEDSALESINV-INV"):
        assert not OWNER_FIELDS & crm_fields(registry, name)
    # BC's Team setup: CUSTOMER's dependency filter loses SALESPEOPLE, so the first wave has no salespeople.
    assert registry.get("CUSTOMER").dependencies == ("CURRENCY",)
    assert sorted(m.name for m in registry.dependency_waves()[0]) == ["CURRENCY", "UNITOFMEASURE"]
    assert len(registry.get("CUSTOMER").fields) == 18 and len(registry.get("CONTACT").fields) == 18


def test_each_model_keeps_its_own_registry_in_one_process(monkeypatch) -> None:
    monkeypatch.delenv(ENV_OWNERSHIP_MODEL, raising=False)
    person = load_registry()
    team = load_registry(ownership_model="team")  # any case, as an argument too
    assert {m.name for m in person.mappings} - {m.name for m in team.mappings} == {"SALESPEOPLE"}
    assert load_registry() is person and load_registry(ownership_model=OwnershipModel.TEAM) is team


def test_an_unknown_model_is_refused_naming_the_variable(monkeypatch) -> None:
    monkeypatch.setenv(ENV_OWNERSHIP_MODEL, "Business Unit")
    with pytest.raises(
        RegistryError, match=r"\$BCSYNC_OWNERSHIP_MODEL: expected Person or Team, got 'Business Unit'"
    ):
        load_registry()
