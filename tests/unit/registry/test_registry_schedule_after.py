"""`schedule.after`: a job also runs once the named jobs' runs have finished."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bcsync.registry import RegistryError, Schedule, load_registry
from bcsync.registry.render import registry_as_text

WriteMappings = Callable[..., Path]


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RegistryError) as raised:
        load_registry(directory, strict=True)
    return [str(p) for p in raised.value.problems]


def schedule_of(data: dict[str, Any], file: str) -> dict[str, Any]:
    return data[file]["mappings"][0]["schedule"]


# The model: which combinations of every / cron / after a schedule accepts.


@pytest.mark.parametrize(
    "raw",
    [
        {"every": "30m", "after": ["CUSTOMER"]},
        {"cron": "*/30 * * * *", "after": ["CUSTOMER"]},
        {"after": ["CUSTOMER"]},
        {"after": ["CUSTOMER", "CURRENCY"], "max_attempts": 2},
    ],
)
def test_after_goes_with_at_most_one_timer(raw: dict[str, Any]) -> None:
    schedule = Schedule.model_validate(raw)
    assert schedule.after == tuple(raw["after"])
    assert schedule.has_timer == ("every" in raw or "cron" in raw)


def test_without_after_the_timer_is_required_as_before() -> None:
    assert Schedule.model_validate({"every": "30m"}).after == ()
    with pytest.raises(ValidationError, match="needs exactly one of 'every' and 'cron', or 'after'"):
        Schedule.model_validate({"max_attempts": 2})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"every": "30m", "cron": "*/30 * * * *", "after": ["CUSTOMER"]},
            "a schedule with 'after' takes at most one of 'every' and 'cron'",
        ),
        ({"every": "30m", "after": []}, "after needs at least one job"),
        ({"after": []}, "after needs at least one job"),
        ({"after": ["CUSTOMER", "CURRENCY", "CUSTOMER"]}, "after names CUSTOMER more than once"),
        ({"after": "CUSTOMER"}, "valid tuple"),
        ({"after": [""]}, "at least 1 character"),
    ],
)
def test_bad_after_is_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Schedule.model_validate(raw)


def test_describe_names_the_jobs_it_runs_after() -> None:
    assert Schedule.model_validate({"every": "30m", "after": ["CUSTOMER"]}).describe() == (
        "every 30m, after CUSTOMER"
    )
    both = Schedule.model_validate({"after": ["CUSTOMER", "CURRENCY"], "max_attempts": 2})
    assert both.describe() == "after CUSTOMER & CURRENCY"


# The registry: the named jobs must exist, be jobs, and not start each other in a cycle.


def test_a_valid_after_loads_and_is_listed(write_mappings: WriteMappings, small_mappings) -> None:
    schedule_of(small_mappings, "customer.yaml")["after"] = ["CURRENCY"]
    registry = load_registry(write_mappings(small_mappings))
    schedule = registry.get("CUSTOMER").schedule
    assert schedule is not None
    assert schedule.after == ("CURRENCY",) and schedule.every == timedelta(minutes=30)
    assert "  schedule: every 30m, after CURRENCY" in registry_as_text(registry).splitlines()


def test_a_model_error_in_after_is_located_at_the_mapping(
    write_mappings: WriteMappings, small_mappings
) -> None:
    schedule_of(small_mappings, "customer.yaml")["after"] = ["CURRENCY", "CURRENCY"]
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith(
        "customer.yaml: mapping CUSTOMER: schedule.after: after names CURRENCY more than once"
    )


def test_after_an_unknown_job_is_refused(write_mappings: WriteMappings, small_mappings) -> None:
    schedule_of(small_mappings, "customer.yaml")["after"] = ["CURENCY"]
    directory = write_mappings(small_mappings)
    assert problems_of(directory) == [
        f"{directory / 'customer.yaml'}: mapping CUSTOMER: "
        "schedule.after: job 'CURENCY' is not a mapping in the registry"
    ]


def test_after_an_alias_names_the_mapping_to_use(write_mappings: WriteMappings, small_mappings) -> None:
    small_mappings["currency.yaml"]["mappings"][0]["aliases"] = ["CUR"]
    schedule_of(small_mappings, "customer.yaml")["after"] = ["CUR"]
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith(
        "mapping CUSTOMER: schedule.after: job 'CUR' is an alias; use the mapping name 'CURRENCY'"
    )


def test_a_job_cannot_run_after_itself(write_mappings: WriteMappings, small_mappings) -> None:
    schedule_of(small_mappings, "customer.yaml")["after"] = ["CUSTOMER"]
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith("customer.yaml: mapping CUSTOMER: schedule.after: a job cannot run after itself")


def test_after_a_child_mapping_is_refused_with_its_parent_named(
    write_mappings: WriteMappings, small_mappings
) -> None:
    child = copy.deepcopy(small_mappings["customer.yaml"]["mappings"][0])
    child.update(
        name="CUSTOMER-NOTES",
        parent="CUSTOMER",
        dependencies=["CUSTOMER"],
        parent_link={"bc_field": "id", "crm_field": "parentcustomerid"},
    )
    del child["schedule"]
    child["fields"] = child["fields"][:2]
    small_mappings["customer.yaml"]["mappings"].append(child)
    schedule_of(small_mappings, "currency.yaml")["after"] = ["CUSTOMER-NOTES"]
    [problem] = problems_of(write_mappings(small_mappings))
    assert problem.endswith(
        "currency.yaml: mapping CURRENCY: schedule.after: 'CUSTOMER-NOTES' is a child mapping and runs "
        "in its parent's job; name the parent 'CUSTOMER'"
    )


def test_jobs_running_after_each_other_in_a_cycle_are_refused(
    write_mappings: WriteMappings, small_mappings
) -> None:
    schedule_of(small_mappings, "currency.yaml")["after"] = ["CUSTOMER"]
    schedule_of(small_mappings, "customer.yaml")["after"] = ["CURRENCY"]
    directory = write_mappings(small_mappings)
    # Reported once, at the mapping whose `after` closes the cycle, starting from it.
    assert problems_of(directory) == [
        f"{directory / 'customer.yaml'}: mapping CUSTOMER: schedule.after: a cycle would make the jobs "
        "start each other forever: CUSTOMER runs after CURRENCY runs after CUSTOMER"
    ]


def test_a_longer_after_cycle_is_reported_once_with_every_job_on_it(
    write_mappings: WriteMappings, small_mappings
) -> None:
    third = copy.deepcopy(small_mappings["currency.yaml"]["mappings"][0])
    third.update(name="CURRENCY2", schedule={"after": ["CUSTOMER"]})
    third["bc_endpoint"] = {"api": "v2.0", "entity_set": "currencies2"}
    small_mappings["currency2.yaml"] = {"mappings": [third]}
    schedule_of(small_mappings, "currency.yaml")["after"] = ["CURRENCY2"]
    schedule_of(small_mappings, "customer.yaml")["after"] = ["CURRENCY"]
    [problem] = problems_of(write_mappings(small_mappings))
    cycle = problem.split("forever: ")[1].split(" runs after ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["CURRENCY", "CURRENCY2", "CUSTOMER"]


def test_after_needs_no_dependency_and_a_dependency_is_not_an_after_cycle(
    write_mappings: WriteMappings, small_mappings
) -> None:
    # CUSTOMER depends on CURRENCY; CURRENCY running after CUSTOMER is allowed (only after-edges cycle).
    schedule_of(small_mappings, "currency.yaml")["after"] = ["CUSTOMER"]
    registry = load_registry(write_mappings(small_mappings))
    assert registry.get("CURRENCY").schedule.after == ("CUSTOMER",)
