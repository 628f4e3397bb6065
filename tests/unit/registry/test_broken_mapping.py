"""A broken mapping file or entry is left out of the registry with its problems; the others load.

A mapping that needs a broken one (dependency, parent, child, lookup, option mapping) is left out too,
saying which one and where; `strict=True` still raises with every problem, as `validate` needs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bcsync.registry import BrokenMapping, Registry, RegistryError, load_registry

WriteMappings = Callable[..., Path]


@pytest.fixture
def three_mappings(small_mappings: dict[str, Any]) -> dict[str, Any]:
    """CURRENCY, CUSTOMER (depends on and looks up CURRENCY) and UNITOFMEASURE (independent)."""
    unit = copy.deepcopy(small_mappings["currency.yaml"]["mappings"][0])
    unit.update(
        name="UNITOFMEASURE",
        bc_table="Unit of Measure",
        bc_endpoint={"api": "v2.0", "entity_set": "unitsOfMeasure"},
        crm_entity="uomschedule",
        crm_entity_set="uomschedules",
        crm_key="uomscheduleid",
    )
    return {**small_mappings, "unitofmeasure.yaml": {"mappings": [unit]}}


def load(write_mappings: WriteMappings, files: dict[str, Any]) -> Registry:
    return load_registry(write_mappings(files))


def broken_named(registry: Registry, name: str | None) -> BrokenMapping:
    [broken] = [b for b in registry.broken if b.name == name]
    return broken


def usable(registry: Registry) -> list[str]:
    return [m.name for m in registry.mappings]


def test_a_schema_error_leaves_that_mapping_out_named_by_file_mapping_and_field(
    write_mappings: WriteMappings, three_mappings
) -> None:
    three_mappings["unitofmeasure.yaml"]["mappings"][0]["fields"][0]["direction"] = "Sideways"
    directory = write_mappings(three_mappings)

    registry = load_registry(directory)

    assert usable(registry) == ["CURRENCY", "CUSTOMER"]
    broken = broken_named(registry, "UNITOFMEASURE")
    assert (broken.file, broken.dag_id) == (str(directory / "unitofmeasure.yaml"), "bcsync_unitofmeasure")
    [problem] = broken.problems
    assert str(problem).startswith(
        f"{directory / 'unitofmeasure.yaml'}: mapping UNITOFMEASURE: field 'Code' (bc_field code): direction:"
    )
    assert registry.problems == (problem,)


def test_strict_loading_still_raises_with_every_problem(
    write_mappings: WriteMappings, three_mappings
) -> None:
    three_mappings["unitofmeasure.yaml"]["mappings"][0]["fields"][0]["direction"] = "Sideways"
    with pytest.raises(RegistryError, match=r"1 problem in the mapping registry:\n.*mapping UNITOFMEASURE"):
        load_registry(write_mappings(three_mappings), strict=True)


def test_a_yaml_syntax_error_names_the_file_and_takes_the_dag_id_from_the_file_name(
    write_mappings: WriteMappings, three_mappings
) -> None:
    three_mappings["unitofmeasure.yaml"] = "mappings:\n  - name: UNITOFMEASURE\n    fields: [\n"
    registry = load(write_mappings, three_mappings)

    assert usable(registry) == ["CURRENCY", "CUSTOMER"]
    broken = broken_named(registry, None)
    assert broken.dag_id == "bcsync_unitofmeasure"
    assert broken.declares == ("UNITOFMEASURE",)
    [problem] = broken.problems
    assert "unitofmeasure.yaml: invalid YAML: line" in str(problem)


def test_a_mapping_depending_on_a_broken_one_is_left_out_saying_why(
    write_mappings: WriteMappings, three_mappings
) -> None:
    three_mappings["currency.yaml"] = "mappings:\n  - name: CURRENCY\n    fields: [\n"
    directory = write_mappings(three_mappings)
    registry = load_registry(directory)

    assert usable(registry) == ["UNITOFMEASURE"]
    customer = broken_named(registry, "CUSTOMER")
    assert customer.dag_id == "bcsync_customer"
    assert [str(p) for p in customer.problems] == [
        f"{directory / 'customer.yaml'}: mapping CUSTOMER: dependency 'CURRENCY' is broken "
        f"({directory / 'currency.yaml'}), so this mapping cannot run either",
        f"{directory / 'customer.yaml'}: mapping CUSTOMER: field 'Currency Code' (bc_field currencyCode): "
        f"lookup: mapping 'CURRENCY' is broken ({directory / 'currency.yaml'}), so this mapping cannot run "
        "either",
    ]
    # The problems to fix are the root ones; CUSTOMER's follow from them.
    assert len(registry.problems) == 1 and "currency.yaml: invalid YAML" in str(registry.problems[0])


def test_a_cross_mapping_error_leaves_only_that_mapping_out(
    write_mappings: WriteMappings, three_mappings
) -> None:
    fields = three_mappings["customer.yaml"]["mappings"][0]["fields"]
    fields[2]["lookup"]["mapping"] = "CURENCY"
    registry = load(write_mappings, three_mappings)

    assert usable(registry) == ["CURRENCY", "UNITOFMEASURE"]
    [problem] = broken_named(registry, "CUSTOMER").problems
    assert problem.field == "'Currency Code' (bc_field currencyCode)"
    assert problem.message == "lookup: mapping 'CURENCY' is not a mapping in the registry"


def test_the_valid_entries_of_a_file_with_an_invalid_one_are_kept(
    write_mappings: WriteMappings, three_mappings
) -> None:
    currency = three_mappings.pop("currency.yaml")["mappings"][0]
    unit = three_mappings.pop("unitofmeasure.yaml")["mappings"][0]
    del unit["crm_key"]
    unit["job_code"] = "UOM"
    three_mappings["shared.yaml"] = {"mappings": [currency, unit]}
    registry = load(write_mappings, three_mappings)

    assert usable(registry) == ["CURRENCY", "CUSTOMER"]
    broken = broken_named(registry, "UNITOFMEASURE")
    assert broken.dag_id == "bcsync_uom"  # the job code, as the good mapping's DAG id would be
    assert [p.message for p in broken.problems] == ["crm_key: required key is missing"]


def test_two_mappings_with_one_name_are_both_left_out(write_mappings: WriteMappings, three_mappings) -> None:
    three_mappings["currency-copy.yaml"] = copy.deepcopy(three_mappings["currency.yaml"])
    registry = load(write_mappings, three_mappings)

    assert usable(registry) == ["UNITOFMEASURE"]  # CUSTOMER needs CURRENCY: which of the two?
    assert sorted(Path(b.file).name for b in registry.broken if b.name == "CURRENCY") == [
        "currency-copy.yaml",
        "currency.yaml",
    ]


def test_a_child_and_its_parent_job_go_together(write_mappings: WriteMappings, three_mappings) -> None:
    lines = copy.deepcopy(three_mappings["unitofmeasure.yaml"]["mappings"][0])
    lines.update(name="UNIT LINES", parent="UNITOFMEASURE", dependencies=["UNITOFMEASURE"])
    del lines["schedule"]
    lines["fields"][0]["direction"] = "Sideways"
    three_mappings["unitofmeasure.yaml"]["mappings"].append(lines)
    registry = load(write_mappings, three_mappings)

    assert usable(registry) == ["CURRENCY", "CUSTOMER"]
    assert broken_named(registry, "UNIT LINES").dag_id is None  # a child runs in its parent's DAG
    [why] = broken_named(registry, "UNITOFMEASURE").problems
    assert why.message.startswith("child mapping 'UNIT LINES' is broken (")


def test_a_broken_option_mapping_takes_the_mappings_using_it_out(
    write_mappings: WriteMappings, three_mappings
) -> None:
    three_mappings["options.yaml"] = "option_mappings:\n  - name: PAYMENT TERMS\n    values: [\n"
    three_mappings["customer.yaml"]["mappings"][0]["fields"].append(
        {
            "bc_caption": "Payment Terms Code",
            "bc_field": "paymentTermsCode",
            "crm_field": "paymenttermscode",
            "direction": "Bidirectional",
            "option_mapping": "PAYMENT TERMS",
        }
    )
    registry = load(write_mappings, three_mappings)

    assert usable(registry) == ["CURRENCY", "UNITOFMEASURE"]
    assert broken_named(registry, None).dag_id is None  # a file of option mappings holds no job
    [why] = broken_named(registry, "CUSTOMER").problems
    assert why.field == "'Payment Terms Code' (bc_field paymentTermsCode)"
    assert why.message.startswith("option_mapping 'PAYMENT TERMS' is broken (")


def test_asking_for_a_broken_mapping_says_why_it_is_not_loaded(
    write_mappings: WriteMappings, three_mappings
) -> None:
    del three_mappings["unitofmeasure.yaml"]["mappings"][0]["crm_key"]
    registry = load(write_mappings, three_mappings)

    with pytest.raises(KeyError, match=r"mapping 'UNITOFMEASURE' is broken and not loaded: .*crm_key"):
        registry.get("UNITOFMEASURE")
    assert [b.name for b in registry.broken_jobs] == ["UNITOFMEASURE"]


def test_a_disabled_broken_mapping_is_known_to_be_disabled(write_mappings: WriteMappings, three_mappings):
    unit = three_mappings["unitofmeasure.yaml"]["mappings"][0]
    unit["enabled"] = False
    del unit["crm_key"]
    assert broken_named(load(write_mappings, three_mappings), "UNITOFMEASURE").enabled is False
