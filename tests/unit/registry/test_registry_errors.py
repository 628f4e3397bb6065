"""Bad mapping YAML is refused with every problem named by file, mapping and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bcsync.registry import RegistryError, load_registry
from bcsync.registry.errors import Problem
from bcsync.registry.loader import REPO_ROOT, display_path

WriteMappings = Callable[..., Path]


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RegistryError) as raised:
        load_registry(directory, strict=True)
    return [str(p) for p in raised.value.problems]


def customer_fields(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["customer.yaml"]["mappings"][0]["fields"]


def test_the_small_registry_is_valid(write_mappings: WriteMappings, small_mappings: dict) -> None:
    registry = load_registry(write_mappings(small_mappings))
    assert [m.name for m in registry.mappings] == ["CURRENCY", "CUSTOMER"]


def test_unknown_lookup_mapping_names_file_mapping_and_field(
    write_mappings: WriteMappings, small_mappings
) -> None:
    customer_fields(small_mappings)[2]["lookup"]["mapping"] = "CURENCY"
    directory = write_mappings(small_mappings)
    assert problems_of(directory) == [
        f"{directory / 'customer.yaml'}: mapping CUSTOMER: field 'Currency Code' (bc_field currencyCode): "
        "lookup: mapping 'CURENCY' is not a mapping in the registry"
    ]


def test_the_message_shows_paths_inside_the_checkout_relative_to_it() -> None:
    shown = display_path(REPO_ROOT / "include" / "mappings" / "customer.yaml")
    problem = Problem(shown, "a message", "CUSTOMER", "'Address 2' (bc_field addressLine2)")
    assert str(problem) == (
        "include/mappings/customer.yaml: mapping CUSTOMER: "
        "field 'Address 2' (bc_field addressLine2): a message"
    )


def test_bad_direction_value_is_named_with_the_allowed_values(
    write_mappings: WriteMappings, small_mappings
) -> None:
    customer_fields(small_mappings)[1]["direction"] = "Sideways"
    [problem] = problems_of(write_mappings(small_mappings))
    assert "customer.yaml: mapping CUSTOMER: field 'Address 2' (bc_field addressLine2): direction:" in problem
    assert "'Bidirectional', 'ToIntegrationTable' or 'FromIntegrationTable'" in problem
    assert "(got 'Sideways')" in problem


def test_field_direction_must_fit_the_table_direction(write_mappings: WriteMappings, small_mappings) -> None:
    currency = small_mappings["currency.yaml"]["mappings"][0]
    currency["fields"][0]["direction"] = "FromIntegrationTable"
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith(
        "currency.yaml: mapping CURRENCY: field 'Code' (bc_field code): "
        "direction FromIntegrationTable does not fit the table direction ToIntegrationTable"
    )


def test_duplicate_field_mapping_is_refused(write_mappings: WriteMappings, small_mappings) -> None:
    fields = customer_fields(small_mappings)
    fields.append(dict(fields[1]))
    [problem] = problems_of(write_mappings(small_mappings))
    assert "mapping CUSTOMER: field 'Address 2' (bc_field addressLine2): duplicate field mapping" in problem


def test_two_fields_writing_one_destination_are_refused(
    write_mappings: WriteMappings, small_mappings
) -> None:
    customer_fields(small_mappings).append(
        {
            "bc_caption": "Address",
            "bc_field": "addressLine1",
            "crm_field": "address1_line2",
            "direction": "Bidirectional",
        }
    )
    [problem] = problems_of(write_mappings(small_mappings))
    assert (
        "field 'Address' (bc_field addressLine1): duplicate field mapping: crm_field address1_line2"
        in problem
    )


def test_cyclic_dependency_is_refused(write_mappings: WriteMappings, small_mappings) -> None:
    small_mappings["currency.yaml"]["mappings"][0]["dependencies"] = ["CUSTOMER"]
    problems = problems_of(write_mappings(small_mappings))
    assert len(problems) == 1
    assert "dependency cycle: " in problems[0]
    assert "CURRENCY → CUSTOMER → CURRENCY" in problems[0] or "CUSTOMER → CURRENCY → CUSTOMER" in problems[0]


def test_missing_required_key_is_named(write_mappings: WriteMappings, small_mappings) -> None:
    del small_mappings["customer.yaml"]["mappings"][0]["crm_key"]
    del customer_fields(small_mappings)[0]["direction"]
    problems = problems_of(write_mappings(small_mappings))
    assert any(
        p.endswith("customer.yaml: mapping CUSTOMER: crm_key: required key is missing") for p in problems
    )
    assert any(
        p.endswith(
            "mapping CUSTOMER: field 'Name' (bc_field displayName): direction: required key is missing"
        )
        for p in problems
    )


def test_a_failing_file_does_not_make_references_to_its_mappings_fail_too(
    write_mappings: WriteMappings, small_mappings
) -> None:
    del small_mappings["currency.yaml"]["mappings"][0]["crm_key"]
    problems = problems_of(write_mappings(small_mappings))
    assert len(problems) == 1 and "mapping CURRENCY: crm_key: required key is missing" in problems[0]


def test_every_problem_is_listed_not_just_the_first(write_mappings: WriteMappings, small_mappings) -> None:
    small_mappings["currency.yaml"]["mappings"][0]["fields"][0]["direction"] = "Sideways"
    small_mappings["customer.yaml"]["mappings"][0]["dependencies"] = ["CURRENCY", "VENDOR"]
    with pytest.raises(RegistryError) as raised:
        load_registry(write_mappings(small_mappings), strict=True)
    lines = str(raised.value).splitlines()
    assert lines[0] == "2 problems in the mapping registry:"
    assert "mapping CURRENCY: field 'Code' (bc_field code): direction:" in lines[1]
    assert lines[2].endswith("mapping CUSTOMER: dependency 'VENDOR' is not a mapping in the registry")


def test_unknown_dependency_and_alias_references_are_explained(
    write_mappings: WriteMappings, small_mappings
) -> None:
    small_mappings["currency.yaml"]["mappings"][0]["aliases"] = ["CUR"]
    small_mappings["customer.yaml"]["mappings"][0]["dependencies"] = ["CUR", "VENDOR"]
    problems = problems_of(write_mappings(small_mappings))
    assert any(
        "mapping CUSTOMER: dependency 'CUR' is an alias; use the mapping name 'CURRENCY'" in p
        for p in problems
    )
    assert any(
        "mapping CUSTOMER: dependency 'VENDOR' is not a mapping in the registry" in p for p in problems
    )


def test_unknown_key_is_refused_so_typos_do_not_pass_silently(
    write_mappings: WriteMappings, small_mappings
) -> None:
    customer_fields(small_mappings)[1]["clear_on_failed_synch"] = True
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith("field 'Address 2' (bc_field addressLine2): clear_on_failed_synch: unknown key")


def test_clear_on_failed_sync_needs_a_lookup(write_mappings: WriteMappings, small_mappings) -> None:
    customer_fields(small_mappings)[1]["clear_on_failed_sync"] = True
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith(
        "field 'Address 2' (bc_field addressLine2): clear_on_failed_sync applies only to a lookup field"
    )


def test_a_constant_must_flow_towards_the_side_it_is_written_to(
    write_mappings: WriteMappings, small_mappings
) -> None:
    customer_fields(small_mappings).append(
        {"crm_field": "owneridtype", "constant": "systemuser", "direction": "Bidirectional"}
    )
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith(
        "mapping CUSTOMER: field (crm_field owneridtype): "
        "a constant written to crm_field must have direction ToIntegrationTable"
    )


def test_duplicate_yaml_key_is_refused_with_its_line(write_mappings: WriteMappings) -> None:
    text = "mappings:\n  - name: A\n    name: B\n"
    [problem] = problems_of(write_mappings({"a.yaml": text}))
    assert "a.yaml: invalid YAML: line 3, column 5: key 'name' is given twice (line 3)" in problem


def test_yaml_syntax_error_is_located(write_mappings: WriteMappings) -> None:
    [problem] = problems_of(write_mappings({"a.yaml": "mappings: [\n"}))
    assert "a.yaml: invalid YAML: line" in problem


def test_a_file_that_is_not_a_mapping_document_is_refused(write_mappings: WriteMappings) -> None:
    [problem] = problems_of(write_mappings({"a.yaml": "- just\n- a list\n"}))
    assert problem.endswith("a.yaml: expected a YAML mapping with a 'mappings' or 'option_mappings' list")


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "nowhere")
    assert problem.endswith("nowhere: the mappings directory does not exist")


def test_a_mapping_declared_in_two_files_is_refused(write_mappings: WriteMappings, small_mappings) -> None:
    small_mappings["again.yaml"] = small_mappings["currency.yaml"]
    problems = problems_of(write_mappings(small_mappings))
    assert any("mapping CURRENCY: name 'CURRENCY' is already used by mapping CURRENCY" in p for p in problems)


def test_a_schedule_needs_exactly_one_trigger(write_mappings: WriteMappings, small_mappings) -> None:
    small_mappings["currency.yaml"]["mappings"][0]["schedule"] = {"every": "30m", "cron": "*/30 * * * *"}
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith("mapping CURRENCY: schedule: a schedule needs exactly one of 'every' and 'cron'")


def test_a_bad_duration_is_explained(write_mappings: WriteMappings, small_mappings) -> None:
    small_mappings["currency.yaml"]["mappings"][0]["schedule"] = {"every": "half an hour"}
    [problem] = problems_of(write_mappings(small_mappings))
    assert "schedule.every: expected a duration such as '30m'" in problem


def test_a_custom_api_field_needs_the_custom_endpoint(write_mappings: WriteMappings, small_mappings) -> None:
    customer_fields(small_mappings)[1]["bc_api"] = "custom"
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith(
        "field 'Address 2' (bc_field addressLine2): "
        "bc_api custom has no endpoint in this mapping (add bc_extension_endpoint)"
    )


def test_an_unbalanced_filter_is_refused(write_mappings: WriteMappings, small_mappings) -> None:
    small_mappings["customer.yaml"]["mappings"][0]["table_filter"] = "blocked eq ' "
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith("mapping CUSTOMER: table_filter: an unterminated string literal")


def test_match_based_coupling_settings_need_match_criteria(
    write_mappings: WriteMappings, small_mappings
) -> None:
    small_mappings["currency.yaml"]["mappings"][0]["coupling"] = {"synch_after_bulk_coupling": True}
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith(
        "mapping CURRENCY: match-based coupling settings need at least one field with 'match'"
    )


def test_a_table_config_template_needs_records_created_in_bc(
    write_mappings: WriteMappings, small_mappings
) -> None:
    small_mappings["currency.yaml"]["mappings"][0]["table_config_template"] = {"code": "BCICURR"}
    problems = problems_of(write_mappings(small_mappings))
    assert any(
        p.endswith(
            "mapping CURRENCY: table_config_template applies to BC records created from Sales: "
            "the direction has none"
        )
        for p in problems
    ), problems
