"""BC settings bcsync does not carry: a file that still has one is told which and why, where it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bcsync.registry import RegistryError, load_registry

WriteMappings = Callable[..., Path]


def currency(data: dict[str, Any]) -> dict[str, Any]:
    return data["currency.yaml"]["mappings"][0]


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RegistryError) as raised:
        load_registry(directory, strict=True)
    return [str(p) for p in raised.value.problems]


@pytest.mark.parametrize(
    ("edit", "where", "reason"),
    [
        (
            lambda m: m["fields"][0].update(validate_field=False),
            "mapping CURRENCY: field 'Code' (bc_field code): validate_field:",
            "BC's API pages validate every field they write",
        ),
        (
            lambda m: m["fields"][0].update(validate_integration_field=True),
            "mapping CURRENCY: field 'Code' (bc_field code): validate_integration_field:",
            "the Dataverse Web API always validates",
        ),
        (
            lambda m: m["schedule"].update(inactivity_timeout="720m"),
            "mapping CURRENCY: schedule: inactivity_timeout:",
            "Airflow starts a run every interval",
        ),
        (
            lambda m: m.update(coupling={"create_new_if_no_match": True}),
            "mapping CURRENCY: coupling: create_new_if_no_match:",
            "a full synchronization creates every unmatched record",
        ),
        (
            lambda m: m.update(job_kind="CustomerStatistics"),
            "mapping CURRENCY: job_kind:",
            "every job bcsync runs is a table synchronization",
        ),
    ],
    ids=["validate_field", "validate_integration_field", "inactivity_timeout", "create_new", "job_kind"],
)
def test_a_bc_setting_bcsync_does_not_carry_is_refused_with_the_reason(
    write_mappings: WriteMappings, small_mappings, edit, where: str, reason: str
) -> None:
    edit(currency(small_mappings))
    problems = problems_of(write_mappings(small_mappings))
    [problem] = [p for p in problems if "CURRENCY" in p and "not carried" in p]
    assert where in problem and reason in problem and problem.endswith("; remove the key")


def test_option_mappings_do_not_add_codes_to_option_sets(
    write_mappings: WriteMappings, small_mappings
) -> None:
    small_mappings["options.yaml"] = {
        "option_mappings": [
            {
                "name": "PAYMENT TERMS",
                "bc_table": "Payment Terms",
                "bc_endpoint": {"api": "v2.0", "entity_set": "paymentTerms"},
                "crm_entity": "account",
                "crm_option_field": "paymenttermscode",
                "create_new_if_no_match": True,
            }
        ]
    }
    [problem] = problems_of(write_mappings(small_mappings))
    assert "option mapping PAYMENT TERMS: create_new_if_no_match:" in problem
    assert "bcsync does not add values to Dataverse option sets" in problem
