"""Operating bcsync from Airflow: runs triggered through the REST API and run by the real scheduler.

What an operator sees: the run's state, the load task's log with one SYNC ERROR line per failed
record, and BC's counters in the run's note (written by the bcsync plugin's listener).
"""

from __future__ import annotations

import re
import time
from datetime import date
from decimal import Decimal

import pytest
from e2e_stack import AirflowStack, record_timing
from sandbox_data import bc_insert

from bcsync.store.store import CouplingStore

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 150.0
COUNTERS_LINE = re.compile(
    r"^(?P<direction>ToIntegrationTable|FromIntegrationTable): Inserted (?P<Inserted>\d+) · "
    r"Modified (?P<Modified>\d+) · Deleted (?P<Deleted>\d+) · Unchanged (?P<Unchanged>\d+) · "
    r"Skipped (?P<Skipped>\d+) · Failed (?P<Failed>\d+)(?P<status>.*)$",
    re.MULTILINE,
)


def counters_in(note: str) -> dict[str, dict[str, int | str]]:
    return {
        m["direction"]: {
            **{k: int(v) for k, v in m.groupdict().items() if k not in ("direction", "status")},
            "status": m["status"].strip(),
        }
        for m in COUNTERS_LINE.finditer(note)
    }


def run_job(stack: AirflowStack, dag_id: str, conf: dict, *, note: str | None = None) -> tuple[str, dict]:
    """Unpause, trigger through the REST API, wait for the end; records the timings."""
    api = stack.api
    api.unpause(dag_id)
    started = time.monotonic()
    run_id = api.trigger(dag_id, conf, note=note)
    run = api.wait_for_run(dag_id, run_id, timeout=RUN_TIMEOUT)
    record_timing(f"{dag_id}: trigger → {run['state']} (client side)", time.monotonic() - started)
    timing = api.run_timing(dag_id, run_id)
    record_timing(f"{dag_id}: {timing.describe()}", timing.wall)
    return run_id, run


def test_currency_full_sync_fails_on_chf_logs_the_error_and_notes_the_counters(airflow_stack: AirflowStack):
    api = airflow_stack.api
    run_id, run = run_job(airflow_stack, "bcsync_currency", {"full_sync": True})

    # The seed gives CHF no exchange rate in BC: its record fails, the others are written, the run is red.
    assert run["state"] == "failed", airflow_stack.logs()
    tasks = {ti["task_id"]: ti for ti in api.task_instances("bcsync_currency", run_id)}
    assert tasks["load_crm"]["state"] == "failed"
    assert tasks["record_job"]["state"] == "success"  # the job was recorded although a record failed
    assert tasks["job_status"]["state"] == "failed"

    log = api.task_log("bcsync_currency", run_id, "load_crm", tasks["load_crm"]["try_number"])
    errors = [line for line in log.splitlines() if "SYNC ERROR job=CURRENCY" in line]
    assert len(errors) == 1, log
    assert "direction=ToIntegrationTable" in errors[0]
    assert "CHF" in errors[0]

    note = api.run_note("bcsync_currency", run_id)
    assert note, "the bcsync listener wrote no note"
    counters = counters_in(note)
    assert set(counters) == {"ToIntegrationTable"}, note
    to_crm = counters["ToIntegrationTable"]
    assert to_crm["Failed"] == 1
    assert to_crm["Inserted"] > 0  # a fresh Dataverse: the currencies without a match are created
    assert to_crm["Inserted"] + to_crm["Unchanged"] + to_crm["Failed"] >= 3
    assert to_crm["status"] == ""  # a real run, not a dry run
    assert note.count("\n") == 0, note  # one direction, one line, nothing else


def test_salespeople_dry_run_succeeds_writes_nothing_and_says_so(airflow_stack: AirflowStack):
    sandbox = airflow_stack.sandbox
    for service in ("bc", "dataverse"):
        sandbox.admin(service, "POST", "stats/reset")
    operator_note = "Checking the plan before the go-live."

    run_id, run = run_job(
        airflow_stack,
        "bcsync_salespeople",
        {"full_sync": True, "dry_run": True},
        note=operator_note,
    )

    assert run["state"] == "success", airflow_stack.logs()
    note = airflow_stack.api.run_note("bcsync_salespeople", run_id)
    assert note.startswith(operator_note)  # the operator's note is kept, the counters follow
    counters = counters_in(note)
    assert set(counters) == {"FromIntegrationTable"}, note
    assert counters["FromIntegrationTable"]["status"] == "(dry run)"
    assert counters["FromIntegrationTable"]["Inserted"] + counters["FromIntegrationTable"]["Unchanged"] > 0
    assert "bcsync: dry run, nothing was written" in note

    # Nothing written: only reads reached either service, and no coupling was stored.
    for service in ("bc", "dataverse"):
        methods = sandbox.admin(service, "GET", "stats")["by_method"]
        assert methods.get("GET", 0) > 0, (service, methods)
        assert set(methods) == {"GET"}, (service, methods)
    store = CouplingStore(airflow_stack.store_url)
    try:
        assert store.couplings("SALESPEOPLE").empty
    finally:
        store.dispose()


def test_a_run_marked_failed_in_the_api_server_gets_a_note_saying_the_job_was_not_recorded(
    airflow_stack: AirflowStack,
):
    """The API server's path of the listener: "Mark run as failed" on a run that never ran a task."""
    api = airflow_stack.api
    # Left paused, so the run stays queued and no task starts.
    run_id = api.trigger("bcsync_contact", {"full_sync": True})
    assert api.get_run("bcsync_contact", run_id)["state"] == "queued"

    api.set_run_state("bcsync_contact", run_id, "failed")

    note = api.run_note("bcsync_contact", run_id)
    assert note is not None and note.startswith("bcsync: the job was not recorded"), note
    assert "manually set to `failed`" in note
    assert counters_in(note) == {}


def test_fixing_the_data_and_clearing_the_failed_task_turns_the_run_green(airflow_stack: AirflowStack):
    """The operator's loop: a red run, the SYNC ERROR line, fix the data, clear the task, green."""
    api, sandbox = airflow_stack.api, airflow_stack.sandbox
    run_id, run = run_job(airflow_stack, "bcsync_currency", {"full_sync": True})
    assert run["state"] == "failed"
    load = {ti["task_id"]: ti for ti in api.task_instances("bcsync_currency", run_id)}["load_crm"]
    assert "bc_record=CHF" in api.task_log("bcsync_currency", run_id, "load_crm", load["try_number"])

    # The BC administrator enters CHF's exchange rate (in BC's UI: straight into the service's data).
    bc_insert(
        sandbox,
        "currencyExchangeRate",
        {
            "currencyCode": "CHF",
            "startingDate": date(2026, 1, 1),
            "exchangeRateAmount": Decimal("100"),
            "relationalExchangeRateAmount": Decimal("112.5"),
        },
    )
    sandbox.admin("dataverse", "POST", "stats/reset")
    api.json(
        "POST",
        "/dags/bcsync_currency/clearTaskInstances",
        json={
            "dag_run_id": run_id,
            "task_ids": ["load_crm"],
            "include_downstream": True,
            "only_failed": False,
            "reset_dag_runs": True,
            "dry_run": False,
        },
    )
    started = time.monotonic()
    run = api.wait_for_run("bcsync_currency", run_id, timeout=RUN_TIMEOUT)
    record_timing("bcsync_currency: clear load_crm → " + run["state"], time.monotonic() - started)

    assert run["state"] == "success", airflow_stack.logs()
    counters = counters_in(api.run_note("bcsync_currency", run_id))["ToIntegrationTable"]
    assert counters["Failed"] == 0 and counters["Inserted"] >= 1
    # Only CHF was written again: one create request reached Dataverse, and CHF is now coupled.
    routes = sandbox.admin("dataverse", "GET", "stats")["by_route"]
    writes = {route: statuses for route, statuses in routes.items() if not route.startswith("GET ")}
    assert sum(sum(s.values()) for s in writes.values()) == 1, writes
    store = CouplingStore(airflow_stack.store_url)
    try:
        assert len(store.couplings("CURRENCY")) >= 4
        assert store.open_errors("CURRENCY").empty  # the success resolved the error
    finally:
        store.dispose()
