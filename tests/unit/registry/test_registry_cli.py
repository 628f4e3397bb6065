"""`bin/bcsync mappings`: normalized JSON, a readable table, and a `validate` that lists every problem."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from bcsync.registry.loader import REPO_ROOT

WriteMappings = Callable[..., Path]
BCSYNC = REPO_ROOT / "bin" / "bcsync"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BCSYNC), *args], capture_output=True, text=True, timeout=60, check=False)


def test_mappings_json_lists_every_mapping_with_the_required_keys() -> None:
    result = run("mappings", "--json")
    assert result.returncode == 0, result.stderr
    mappings = json.loads(result.stdout)
    assert len(mappings) == 13  # the eleven jobs, invoice lines and the invoice payment status
    for mapping in mappings:
        assert {
            "name",
            "dag_id",
            "bc_table",
            "bc_endpoint",
            "crm_entity",
            "direction",
            "only_coupled",
            "table_filter",
            "integration_table_filter",
            "dependencies",
            "fields",
        } <= mapping.keys()
        for field in mapping["fields"]:
            assert {
                "bc_field",
                "bc_caption",
                "crm_field",
                "direction",
                "constant",
                "lookup",
                "clear_on_failed_sync",
            } <= field.keys()
    customer = next(m for m in mappings if m["name"] == "CUSTOMER")
    assert customer["dag_id"] == "bcsync_customer"
    assert customer["bc_endpoint"] == {"api": "v2.0", "entity_set": "customers"}
    address_2 = next(f for f in customer["fields"] if f["bc_caption"] == "Address 2")
    assert (address_2["bc_field"], address_2["crm_field"], address_2["direction"]) == (
        "addressLine2",
        "address1_line2",
        "Bidirectional",
    )
    assert customer["schedule"]["every"] == "30m"


def test_mappings_without_json_prints_a_table_per_mapping() -> None:
    result = run("mappings")
    assert result.returncode == 0, result.stderr
    assert "CUSTOMER: Customer ↔ account   [DAG bcsync_customer]" in result.stdout
    assert "addressLine2" in result.stdout and "Address 2" in result.stdout
    primary_contact = next(line for line in result.stdout.splitlines() if "primarycontactid" in line)
    assert primary_contact.split()[:2] == ["primaryContactNo", "(custom)"]
    assert primary_contact.endswith("lookup CONTACT; clear on failed sync")
    assert "POSTEDSALESLINE-INV: Sales Invoice Line → invoicedetail   [runs in POSTEDSALESINV-INV's job]" in (
        result.stdout
    )


def test_validate_accepts_the_shipped_mappings() -> None:
    result = run("mappings", "validate")
    assert result.returncode == 0, result.stderr
    assert "13 mappings (11 jobs) are valid" in result.stdout


def test_validate_exits_non_zero_with_the_problem_list(write_mappings: WriteMappings, small_mappings) -> None:
    small_mappings["customer.yaml"]["mappings"][0]["dependencies"] = ["VENDOR"]
    result = run("mappings", "validate", str(write_mappings(small_mappings)))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "1 problem in the mapping registry:"
    assert "mapping CUSTOMER: dependency 'VENDOR' is not a mapping in the registry" in result.stderr
