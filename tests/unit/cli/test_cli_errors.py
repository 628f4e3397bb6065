"""`bcsync errors`: the open per-record errors (BC's Integration Synch. Job Errors), oldest first."""

from __future__ import annotations

import json

import pytest
from cli_support import CURRENCY_ERROR, POST_CODE_ERROR, SALESPERSON_ERROR, Filled, Run, table


def test_open_errors_are_a_table_oldest_first(run: Run, filled: Filled) -> None:
    result = run("errors", "--store", filled.url)

    assert result.code == 0, result.err
    rows = table(result.out)
    assert list(rows[0]) == [
        "Time (UTC)", "Job", "Direction", "BC No.", "BC ID", "Dataverse ID",
        "Run ID", "Task", "Try", "Message",
    ]  # fmt: skip
    # Each record's 08:00 error was superseded by its 08:30 one: a record keeps its newest error open.
    assert [(r["Time (UTC)"], r["Direction"], r["BC No."], r["Message"]) for r in rows] == [
        ("2026-03-01 08:30:00", "ToIntegrationTable", "C00010", SALESPERSON_ERROR),
        ("2026-03-01 08:30:00", "ToIntegrationTable", "C01010", SALESPERSON_ERROR),
        ("2026-03-01 08:30:00", "ToIntegrationTable", "C02010", CURRENCY_ERROR),
        ("2026-03-01 09:00:00", "FromIntegrationTable", "", POST_CODE_ERROR),
    ]
    assert rows[0]["BC ID"] == filled.bc[0] and rows[0]["Dataverse ID"] == ""
    last = rows[-1]
    assert (last["Dataverse ID"], last["Run ID"], last["Task"], last["Try"]) == (
        filled.crm[3],
        "scheduled__2026-03-01T08:30:00+00:00",
        "load_bc",
        "2",
    )


@pytest.mark.parametrize("direction", ["From", "from", "FromIntegrationTable"])
def test_direction_takes_bcs_short_or_option_name(run: Run, filled: Filled, direction: str) -> None:
    rows = table(run("errors", "CUSTOMER", "--direction", direction, "--store", filled.url).out)

    assert [row["Message"] for row in rows] == [POST_CODE_ERROR]


def test_an_unknown_direction_is_a_usage_error(run: Run, filled: Filled) -> None:
    with pytest.raises(SystemExit) as exit_:
        run("errors", "--direction", "Both", "--store", filled.url)
    assert exit_.value.code == 2


def test_a_success_resolves_the_records_errors(run: Run, filled: Filled) -> None:
    filled.store.record_sync_results(
        "CUSTOMER", "ToIntegrationTable", [{"bc_id": filled.bc[2], "result": "Success"}]
    )

    rows = table(run("errors", "CUSTOMER", "--direction", "To", "--store", filled.url).out)

    assert filled.bc[2] not in {row["BC ID"] for row in rows}
    assert len(rows) == 2


def test_json_gives_each_error_with_its_task_try_and_detail(run: Run, filled: Filled) -> None:
    result = run("errors", "customer", "--direction", "From", "--json", "--store", filled.url)

    assert result.code == 0, result.err
    [error] = json.loads(result.out)
    assert error == {
        "job": "CUSTOMER",
        "direction": "FromIntegrationTable",
        "bc_id": None,
        "bc_number": None,
        "name": None,
        "crm_id": filled.crm[3],
        "message": POST_CODE_ERROR,
        "run_id": "scheduled__2026-03-01T08:30:00+00:00",
        "task_id": "load_bc",
        "try_number": 2,
        "logged_on": "2026-03-01T09:00:00+00:00",
        "job_id": filled.customer_from_job,
        "detail": None,
        "error_id": 7,
        "status": "Open",
    }


def test_no_open_errors_says_so(run: Run, filled: Filled) -> None:
    result = run("errors", "CONTACT", "--store", filled.url)

    assert (result.code, result.out) == (0, "No open synchronization errors for CONTACT.\n")


def test_an_empty_store_has_no_errors(run: Run, empty_store: str) -> None:
    to_only = run("errors", "--direction", "To", "--store", empty_store)

    assert to_only.out == "No open synchronization errors for ToIntegrationTable.\n"
    assert run("errors", "--json", "--store", empty_store).out == "[]\n"


def test_an_unknown_job_exits_2(run: Run, filled: Filled) -> None:
    result = run("errors", "ACCOUNTS", "--store", filled.url)

    assert result.code == 2
    assert "unknown job 'ACCOUNTS'; known jobs: " in result.err
