"""`bcsync errors --delete-older-than`, and the record-action commands' refusals before any run."""

from __future__ import annotations

from cli_support import Filled, Run


def test_delete_older_than_keeps_the_job_and_errors_skipped_records_reference(
    run: Run, filled: Filled
) -> None:
    result = run("errors", "--delete-older-than", "0", "--store", filled.url)

    assert result.code == 0, result.err
    # Kept: the second To job (the skipped records' last job) and its 3 errors.
    assert result.out.strip() == (
        "Deleted 4 error(s) and 3 job log entries older than 0 day(s); kept 4 referenced by skipped records."
    )
    assert set(filled.store.jobs()["job_id"]) == {filled.customer_to_job}
    assert set(filled.store.open_errors()["job_id"]) == {filled.customer_to_job}


def test_delete_older_than_leaves_newer_entries(run: Run, filled: Filled) -> None:
    result = run("errors", "CUSTOMER", "--delete-older-than", "100000", "--store", filled.url)

    assert (
        result.out.strip() == "Deleted 0 error(s) and 0 job log entries of CUSTOMER older than 100000 day(s)."
    )
    assert len(filled.store.jobs()) == 4


def test_an_action_on_an_unknown_job_or_option_is_refused_before_anything_runs(run: Run) -> None:
    unknown = run("uncouple", "VENDOR", "C00010", "--airflow-url", "http://127.0.0.1:9")
    assert unknown.code == 2
    assert unknown.err.startswith("bcsync uncouple: There is no job 'VENDOR'; jobs: ")

    one_way = run("create-new", "CURRENCY", "EUR", "--side", "crm", "--airflow-url", "http://127.0.0.1:9")
    assert one_way.code == 2
    assert "CURRENCY does not write to Business Central" in one_way.err


def test_an_action_says_when_airflow_cannot_be_reached(run: Run) -> None:
    result = run("sync-now", "CUSTOMER", "C00010", "--direction", "To", "--airflow-url", "http://127.0.0.1:9")

    assert result.code == 1
    assert "cannot reach Airflow at http://127.0.0.1:9" in result.err
