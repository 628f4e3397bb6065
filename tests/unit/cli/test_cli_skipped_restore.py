"""`bcsync skipped` and `bcsync restore`: BC's "CRM Skipped Records" page with Restore / Restore All."""

from __future__ import annotations

import json

import pytest
from cli_support import SALESPERSON_ERROR, Filled, Run, table

ONE = "The record has been restored for synchronization.\n"


def skipped_bc_ids(filled: Filled) -> set[str]:
    return set(filled.store.skipped("CUSTOMER")["bc_id"])


def test_skipped_lists_the_records_the_same_error_twice_skipped(run: Run, filled: Filled) -> None:
    result = run("skipped", "CUSTOMER", "--store", filled.url)

    assert result.code == 0, result.err
    rows = table(result.out)
    assert list(rows[0]) == ["BC ID", "Dataverse ID", "Skipped by", "Last error"]
    # Record 2 failed twice with different messages, so it is failing but not skipped.
    assert [(r["BC ID"], r["Dataverse ID"], r["Skipped by"], r["Last error"]) for r in rows] == [
        (filled.bc[0], filled.crm[0], "To", SALESPERSON_ERROR),
        (filled.bc[1], filled.crm[1], "To", SALESPERSON_ERROR),
    ]


def test_skipped_json_names_the_direction_and_the_last_error(run: Run, filled: Filled) -> None:
    result = run("skipped", "customer", "--json", "--store", filled.url)

    assert result.code == 0, result.err
    first = json.loads(result.out)[0]
    assert first == {
        "bc_id": filled.bc[0],
        "crm_id": filled.crm[0],
        "skipped_by": ["ToIntegrationTable"],
        "last_error": SALESPERSON_ERROR,
        "last_error_on": "2026-03-01T08:30:00+00:00",
        "to_crm_failures": 2,
        "from_crm_failures": 0,
        "updated_on": "2026-03-01T08:30:00+00:00",
    }


def test_skipped_needs_a_job(run: Run, filled: Filled) -> None:
    with pytest.raises(SystemExit) as exit_:
        run("skipped", "--store", filled.url)
    assert exit_.value.code == 2


def test_no_skipped_records_says_so(run: Run, filled: Filled) -> None:
    assert run("skipped", "CONTACT", "--store", filled.url).out == "No skipped records for CONTACT.\n"
    assert run("skipped", "CONTACT", "--json", "--store", filled.url).out == "[]\n"


def test_restoring_one_record_prints_bcs_message(run: Run, filled: Filled) -> None:
    result = run("restore", "CUSTOMER", "--bc-id", filled.bc[0], "--store", filled.url)

    assert (result.code, result.out, result.err) == (0, ONE, "")
    assert skipped_bc_ids(filled) == {filled.bc[1]}
    # BC keeps the Failure, so the next run retries the record (and the same error skips it again).
    restored = filled.store.couplings_for("CUSTOMER", bc_ids=[filled.bc[0]]).iloc[0]
    assert (restored["to_crm_result"], restored["to_crm_failures"]) == ("Failure", 2)


def test_records_are_found_by_dataverse_id_in_any_case_or_braces(run: Run, filled: Filled) -> None:
    ids = [f"{{{filled.crm[0].upper()}}}", filled.crm[1], filled.crm[1]]

    result = run("restore", "CUSTOMER", "--crm-id", *ids, "--store", filled.url)

    assert (result.code, result.out) == (0, "2 records have been restored for synchronization.\n")
    assert skipped_bc_ids(filled) == set()


def test_restore_all_restores_every_skipped_record_of_the_job(run: Run, filled: Filled) -> None:
    result = run("restore", "customer", "--all", "--store", filled.url)

    assert (result.code, result.out) == (0, "2 records have been restored for synchronization.\n")
    assert run("skipped", "CUSTOMER", "--store", filled.url).out == "No skipped records for CUSTOMER.\n"

    again = run("restore", "CUSTOMER", "--all", "--store", filled.url)
    assert (again.code, again.out) == (0, "There are no skipped records for CUSTOMER to restore.\n")


def test_an_id_that_matches_nothing_exits_1_and_says_why(run: Run, filled: Filled) -> None:
    stranger = "99999999-0000-4000-8000-000000000000"

    result = run("restore", "CUSTOMER", "--bc-id", stranger, filled.bc[3], "--store", filled.url)

    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines() == [
        f"bcsync restore: BC id {stranger} is not coupled in CUSTOMER",
        f"bcsync restore: BC id {filled.bc[3]} is coupled in CUSTOMER but not skipped",
        "No records have been restored for synchronization.",
    ]
    assert skipped_bc_ids(filled) == {filled.bc[0], filled.bc[1]}


def test_restoring_some_ids_still_exits_1_for_the_ones_that_matched_nothing(run: Run, filled: Filled) -> None:
    result = run("restore", "CUSTOMER", "--bc-id", filled.bc[1], filled.bc[2], "--store", filled.url)

    assert (result.code, result.out) == (1, ONE)
    assert result.err == f"bcsync restore: BC id {filled.bc[2]} is coupled in CUSTOMER but not skipped\n"
    assert skipped_bc_ids(filled) == {filled.bc[0]}


def test_ids_belong_to_the_job_named(run: Run, filled: Filled) -> None:
    result = run("restore", "CONTACT", "--bc-id", filled.bc[0], "--store", filled.url)

    assert result.code == 1
    assert "is not coupled in CONTACT" in result.err
    assert skipped_bc_ids(filled) == {filled.bc[0], filled.bc[1]}


@pytest.mark.parametrize(
    "arguments",
    [
        ["CUSTOMER"],  # says neither which records nor --all
        ["CUSTOMER", "--all", "--bc-id", "00000000-0000-4000-8000-00000000000b"],
        ["CUSTOMER", "--bc-id", "C00010"],  # a BC number is not an id
        ["--all"],  # no job
    ],
)
def test_restore_usage_errors_exit_2_before_touching_the_store(
    run: Run, filled: Filled, arguments: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        run("restore", *arguments, "--store", filled.url)

    assert exit_.value.code == 2
    assert skipped_bc_ids(filled) == {filled.bc[0], filled.bc[1]}


def test_restore_of_an_unknown_job_lists_the_known_ones(run: Run, filled: Filled) -> None:
    result = run("restore", "KUNDE", "--all", "--store", filled.url)

    assert result.code == 2
    assert "unknown job 'KUNDE'; known jobs: " in result.err
    assert skipped_bc_ids(filled) == {filled.bc[0], filled.bc[1]}
