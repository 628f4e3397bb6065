"""`bcsync jobs`: BC's Integration Synchronization Log, newest first, as a table or JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_support import Filled, Run, table

from bcsync.registry.loader import REPO_ROOT

COUNTERS = ["Inserted", "Modified", "Deleted", "Unchanged", "Skipped", "Failed", "Coupled"]


def test_the_log_is_a_table_newest_first_with_bcs_counters(run: Run, filled: Filled) -> None:
    result = run("jobs", "--store", filled.url)

    assert result.code == 0, result.err
    rows = table(result.out)
    assert list(rows[0]) == [
        "Started (UTC)", "Finished (UTC)", "Job", "Direction", "Type", "Run ID", *COUNTERS, "Message",
    ]  # fmt: skip
    assert [(r["Started (UTC)"], r["Job"], r["Direction"], r["Type"]) for r in rows] == [
        ("2026-03-01 09:05:00", "CONTACT", "ToIntegrationTable", "manual"),
        ("2026-03-01 09:00:00", "CUSTOMER", "FromIntegrationTable", "scheduled"),
        ("2026-03-01 08:30:00", "CUSTOMER", "ToIntegrationTable", "scheduled"),
        ("2026-03-01 08:00:00", "CUSTOMER", "ToIntegrationTable", "scheduled"),
    ]
    newest_to = rows[2]
    assert newest_to["Run ID"] == "scheduled__2026-03-01T08:30:00+00:00"
    assert newest_to["Finished (UTC)"] == "2026-03-01 08:30:00"
    assert [newest_to[c] for c in COUNTERS] == ["0", "0", "0", "1", "2", "1", "0"]
    assert newest_to["Message"] == "3 record(s) failed"
    assert [rows[1][c] for c in COUNTERS] == ["4", "0", "0", "0", "0", "1", "2"]


def test_a_job_still_running_shows_no_finish_and_no_counters_yet(run: Run, filled: Filled) -> None:
    [contact] = table(run("jobs", "CONTACT", "--store", filled.url).out)

    assert contact["Finished (UTC)"] == ""
    assert [contact[c] for c in COUNTERS] == [""] * 7
    running = json.loads(run("jobs", "CONTACT", "--json", "--store", filled.url).out)[0]
    assert running["finished_on"] is None and running["inserted"] is None


def test_a_job_is_named_by_bcs_name_or_alias_in_any_case(run: Run, filled: Filled) -> None:
    by_name = run("jobs", "customer", "--store", filled.url)
    by_alias = run("jobs", "SALESPRC-PRODPRICE", "--store", filled.url)

    assert by_name.code == 0, by_name.err
    assert {row["Job"] for row in table(by_name.out)} == {"CUSTOMER"}
    assert len(table(by_name.out)) == 3
    # The alias resolves to the mapping's own name, under which the store keeps its jobs.
    assert (by_alias.code, by_alias.out) == (
        0,
        "No synchronization jobs recorded for SALESPRC-PRODUCTPRICE.\n",
    )


def test_json_gives_every_field_with_iso_timestamps(run: Run, filled: Filled) -> None:
    result = run("jobs", "CUSTOMER", "--json", "--store", filled.url)

    assert result.code == 0, result.err
    jobs = json.loads(result.out)
    assert [job["direction"] for job in jobs] == [
        "FromIntegrationTable",
        "ToIntegrationTable",
        "ToIntegrationTable",
    ]
    assert jobs[1] == {
        "job": "CUSTOMER",
        "direction": "ToIntegrationTable",
        "type": "scheduled",
        "run_id": "scheduled__2026-03-01T08:30:00+00:00",
        "started_on": "2026-03-01T08:30:00+00:00",
        "finished_on": "2026-03-01T08:30:00+00:00",
        "inserted": 0,
        "modified": 0,
        "deleted": 0,
        "unchanged": 1,
        "skipped": 2,
        "failed": 1,
        "coupled": 0,
        "message": "3 record(s) failed",
        "job_id": filled.customer_to_job,
    }


def test_limit_keeps_the_newest(run: Run, filled: Filled) -> None:
    jobs = json.loads(run("jobs", "--limit", "2", "--json", "--store", filled.url).out)

    assert [job["job_id"] for job in jobs] == [filled.contact_job, filled.customer_from_job]


@pytest.mark.parametrize("limit", ["0", "-3", "many"])
def test_limit_must_be_a_positive_number(run: Run, filled: Filled, limit: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        run("jobs", "--limit", limit, "--store", filled.url)
    assert exit_.value.code == 2


def test_an_empty_log_says_so(run: Run, empty_store: str) -> None:
    assert run("jobs", "--store", empty_store).out == "No synchronization jobs recorded.\n"
    assert run("jobs", "--json", "--store", empty_store).out == "[]\n"


def test_an_unknown_job_lists_the_known_ones_and_exits_2(run: Run, filled: Filled) -> None:
    result = run("jobs", "CUSTOMERS", "--store", filled.url)

    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("bcsync jobs: unknown job 'CUSTOMERS'; known jobs: ")
    for known in ("CUSTOMER,", "CONTACT,", "SALESPRC-PRODUCTPRICE (SALESPRC-PRODPRICE)"):
        assert known in result.err


def test_a_missing_sqlite_file_is_an_error_not_a_new_empty_store(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"

    result = run("jobs", "--store", f"sqlite:///{missing}")

    assert result.code == 1
    assert f"no coupling store at {missing}" in result.err
    assert not missing.exists()


def test_a_relative_sqlite_path_is_refused(run: Run) -> None:
    result = run("jobs", "--store", "sqlite:///relative/store.db")

    assert result.code == 1
    assert result.err.startswith("bcsync jobs: ")


def bcsync(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`bin/bcsync` in a child process, with no store or mappings directory inherited from this machine."""
    outside = ("AIRFLOW_CONN_BCSYNC_STORE", "BCSYNC_MAPPINGS_DIR")
    return subprocess.run(
        [str(REPO_ROOT / "bin" / "bcsync"), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**{k: v for k, v in os.environ.items() if k not in outside}, **env},
    )


def test_bin_bcsync_prints_the_log(filled: Filled) -> None:
    result = bcsync("jobs", "--store", filled.url)

    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert [row["Job"] for row in rows] == ["CONTACT", "CUSTOMER", "CUSTOMER", "CUSTOMER"]
    assert rows[1]["Inserted"] == "4"


def test_without_store_option_the_airflow_connection_is_read(filled: Filled, tmp_path: Path) -> None:
    """A child process: Airflow's logging, configured on import, must not leak into this test run. Its
    log lines (Alembic's on opening the store) go to stderr, so `--json` output stays parseable."""
    result = bcsync(
        "jobs",
        "CONTACT",
        "--json",
        # Airflow's URI form of an absolute SQLite path has four slashes.
        AIRFLOW_CONN_BCSYNC_STORE=filled.url.replace("sqlite:///", "sqlite:////", 1),
        AIRFLOW_HOME=str(tmp_path / "airflow"),
    )

    assert result.returncode == 0, result.stderr
    assert [job["job_id"] for job in json.loads(result.stdout)] == [filled.contact_job]
