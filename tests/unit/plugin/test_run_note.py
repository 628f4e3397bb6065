"""The bcsync plugin without a running Airflow: the note text, and what Airflow's plugin loader imports.

Fast; the listener's real paths (scheduler, API server) are in tests/e2e/test_operations.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from airflow.sdk.serde import serialize

from bcsync.listeners import NOTE_MAX_LENGTH, format_summary, merge_note
from bcsync.results import JobResult
from bcsync_dev.local_runs import ROOT

CURRENCY_SUMMARY = {
    "mapping": "CURRENCY",
    "run_kind": "full",
    "dry_run": False,
    "directions": {
        "ToIntegrationTable": {
            "status": "done",
            "Inserted": 3,
            "Modified": 0,
            "Deleted": 0,
            "Unchanged": 3,
            "Skipped": 0,
            "Failed": 1,
            "Coupled": 3,
        }
    },
    "failed": 1,
}


def test_one_line_per_direction_with_bcs_counters_in_bcs_order():
    assert format_summary(CURRENCY_SUMMARY) == (
        "ToIntegrationTable: Inserted 3 · Modified 0 · Deleted 0 · Unchanged 3 · Skipped 0 · Failed 1"
    )


def test_the_note_reads_record_jobs_result_as_the_metadata_database_returns_it():
    # Outside a task (the scheduler's listener) the XCom comes back as serde's JSON envelope.
    job = JobResult(
        mapping="CURRENCY",
        run_kind="full",
        dry_run=False,
        directions={"ToIntegrationTable": {"status": "done", "Inserted": 3, "Unchanged": 3, "Failed": 1}},
    )
    stored = json.loads(json.dumps(serialize(job)))
    assert format_summary(stored) == format_summary(job) == format_summary(CURRENCY_SUMMARY)


def test_dry_run_and_load_failed_are_stated():
    summary = {
        "dry_run": True,
        "directions": {
            "ToIntegrationTable": {"status": "load failed"},
            "FromIntegrationTable": {"status": "dry run", "Inserted": 1, "Unchanged": 6},
        },
    }
    lines = format_summary(summary).split("\n\n")
    assert lines == [
        "ToIntegrationTable: load failed (see the load task log; the watermark did not move)",
        "FromIntegrationTable: Inserted 1 · Modified 0 · Deleted 0 · Unchanged 6 · Skipped 0 · Failed 0 "
        "(dry run)",
        "bcsync: dry run, nothing was written",
    ]


def test_a_run_without_a_recorded_job_says_so_with_the_reason():
    assert format_summary(None, "timed_out") == (
        "bcsync: the job was not recorded (run ended: timed_out); see the record_job task log"
    )
    assert format_summary("s3://xcom/ref").startswith("bcsync: the job was not recorded")


def test_a_users_note_is_kept_and_our_lines_are_replaced_on_a_rerun():
    first = merge_note("Go-live check, see ticket 42.", format_summary(CURRENCY_SUMMARY))
    assert first.startswith("Go-live check, see ticket 42.\n\n")
    rerun = {**CURRENCY_SUMMARY, "directions": {"ToIntegrationTable": {"status": "done", "Unchanged": 7}}}
    second = merge_note(first, format_summary(rerun))
    assert second == (
        "Go-live check, see ticket 42.\n\n"
        "ToIntegrationTable: Inserted 0 · Modified 0 · Deleted 0 · Unchanged 7 · Skipped 0 · Failed 0"
    )
    assert merge_note(None, "bcsync: x") == "bcsync: x"


def test_the_note_fits_airflows_column():
    note = merge_note("x" * 2000, format_summary(CURRENCY_SUMMARY))
    assert len(note) == NOTE_MAX_LENGTH
    assert note.endswith("…")


PROBE = """
import json, sys
from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory
found = {}
for syntax in ("glob", "regexp"):
    plugins, errors = _load_plugins_from_plugin_directory(sys.argv[1], ignore_file_syntax=syntax)
    found[syntax] = {
        "plugins": [p.name for p in plugins],
        "listeners": [m.__name__ for p in plugins for m in p.listeners],
        "errors": errors,
    }
found["heavy"] = sorted(m for m in ("pandas", "bcsync.pipeline", "bcsync.store", "tasks") if m in sys.modules)
print(json.dumps(found))
"""


def test_airflows_plugin_loader_finds_only_the_plugin_file_in_both_ignore_syntaxes():
    # Without plugins/.airflowignore the loader imported all 55 bcsync modules as top-level plugin
    # files (pandas included, 2.1 s, and an import error for the store's alembic env.py).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include")])}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "plugins")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    expected = {"plugins": ["bcsync"], "listeners": ["bcsync.listeners"], "errors": {}}
    assert found == {"glob": expected, "regexp": expected, "heavy": []}


def test_a_child_mappings_counters_follow_the_jobs_own():
    direction = {**CURRENCY_SUMMARY["directions"]["ToIntegrationTable"], "POSTEDSALESLINE-INV Inserted": 27}
    summary = {
        **CURRENCY_SUMMARY,
        "mapping": "POSTEDSALESINV-INV",
        "directions": {"ToIntegrationTable": direction},
    }
    assert format_summary(summary).endswith("Failed 1 · POSTEDSALESLINE-INV Inserted 27")


def test_the_job_result_summary_carries_the_child_counters():
    result = JobResult.coerce(
        {**CURRENCY_SUMMARY, "directions": {"ToIntegrationTable": {"status": "done", "Inserted": 2}}}
    )
    result.directions["ToIntegrationTable"].counters.extra["POSTEDSALESLINE-INV Inserted"] = 5
    assert result.summary()["directions"]["ToIntegrationTable"]["POSTEDSALESLINE-INV Inserted"] == 5
