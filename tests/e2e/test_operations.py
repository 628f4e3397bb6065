"""Operating bcsync from Airflow: runs triggered through the REST API and run by the real scheduler.

What an operator sees: the run's state, the load task's log with one SYNC ERROR line per failed
record, and BC's counters in the run's note (written by the bcsync plugin's listener).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from e2e_stack import AirflowStack, record_timing
from sandbox_data import bc_update, dataverse_get, enter_chf_exchange_rate

from bcsync.registry import load_registry
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


def run_job(
    stack: AirflowStack, dag_id: str, conf: dict, *, note: str | None = None, timeout: float = RUN_TIMEOUT
) -> tuple[str, dict]:
    """Unpause, trigger through the REST API, wait for the end; records the timings."""
    api = stack.api
    api.unpause(dag_id)
    started = time.monotonic()
    run_id = api.trigger(dag_id, conf, note=note)
    run = api.wait_for_run(dag_id, run_id, timeout=timeout)
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

    load = tasks["load_crm"]  # mapped over the plan's partitions: one here
    log = api.task_log("bcsync_currency", run_id, "load_crm", load["try_number"], map_index=load["map_index"])
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


@pytest.mark.parametrize(
    "conf",
    [
        {"record_ids": [""]},  # blank: names no record (a number such as C00010 is accepted)
        {"direction": "sideways"},
        {"full_sync": "yes"},
    ],
)
def test_the_trigger_refuses_invalid_params(airflow_stack: AirflowStack, conf: dict):
    """Airflow validates the Params against their schema before a run exists, as the trigger form does."""
    api = airflow_stack.api
    runs_before = len(api.runs("bcsync_customer"))
    response = api.request("POST", "dags/bcsync_customer/dagRuns", json={"logical_date": None, "conf": conf})
    assert response.status_code == 400, response.text
    assert next(iter(conf)) in response.text
    assert len(api.runs("bcsync_customer")) == runs_before  # nothing was queued


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
    log = api.task_log("bcsync_currency", run_id, "load_crm", load["try_number"], map_index=load["map_index"])
    assert "bc_record=CHF" in log

    # The BC administrator enters CHF's exchange rate (in BC's UI: straight into the service's data).
    enter_chf_exchange_rate(sandbox)
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


# Every job the registry builds a DAG for: the full synchronization runs them all, in waves.
FULL_SYNC_JOBS = tuple(mapping.dag_id for mapping in load_registry().enabled_jobs)


@pytest.mark.timeout(1200)  # eleven jobs' initial loads, four waves, under the real scheduler
def test_initial_load_runs_the_jobs_in_dependency_waves(airflow_stack: AirflowStack):
    """`bcsync_full_sync` (BC's "CRM Full Synch. Review"): a job starts once its dependencies ended."""
    api = airflow_stack.api
    for dag_id in FULL_SYNC_JOBS:
        api.unpause(dag_id)  # the runs it triggers wait while their DAG is paused
    run_id, run = run_job(airflow_stack, "bcsync_full_sync", {}, timeout=RUN_TIMEOUT * 7)
    assert run["state"] in ("success", "failed")

    triggers = {ti["task_id"]: ti["state"] for ti in api.task_instances("bcsync_full_sync", run_id)}
    # Every wave ran although records failed in earlier ones (BC's review starts a line when its
    # dependencies are "Finished", with or without errors).
    assert set(triggers) == {f"full_sync_{d.removeprefix('bcsync_')}" for d in FULL_SYNC_JOBS}
    assert set(triggers.values()) <= {"success", "failed"}, triggers
    job_runs = {dag_id: api.latest_run(dag_id) for dag_id in FULL_SYNC_JOBS}
    for dag_id, job_run in job_runs.items():
        assert job_run["conf"] == {"full_sync": True, "partition_size": 10_000}, dag_id
        assert job_run["run_type"] == "operator_triggered" and job_run["state"] in ("success", "failed"), (
            job_run
        )
    started = {dag_id: _dt(r["start_date"]) for dag_id, r in job_runs.items()}
    ended = {dag_id: _dt(r["end_date"]) for dag_id, r in job_runs.items()}
    assert started["bcsync_customer"] >= max(ended["bcsync_salespeople"], ended["bcsync_currency"])
    assert started["bcsync_contact"] >= ended["bcsync_customer"]
    assert started["bcsync_customer_statistics"] >= ended["bcsync_customer"]
    assert started["bcsync_item_product"] >= ended["bcsync_unitofmeasure"]
    assert started["bcsync_postedsalesinv_inv"] >= max(ended["bcsync_customer"], ended["bcsync_item_product"])


def test_backfill_resyncs_a_change_inside_its_intervals_idempotently_and_leaves_the_watermark(
    airflow_stack: AirflowStack,
):
    """A BC change stamped before the watermark, so scheduled runs never read it (a long transaction
    that committed after the run had read past its timestamp), comes through a backfill over the hour
    it was made in; running the backfill again changes nothing, and the watermark stays."""
    api, sandbox = airflow_stack.api, airflow_stack.sandbox
    dag_id = "bcsync_customer"
    api.unpause(dag_id)
    run_job(airflow_stack, dag_id, {"full_sync": True})  # couples and creates; sets the watermark
    store = CouplingStore(airflow_stack.store_url)
    try:
        couplings = store.couplings("CUSTOMER")
        watermark = store.get_watermark("CUSTOMER", "ToIntegrationTable")
    finally:
        store.dispose()
    changed_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=75)
    assert watermark is not None and changed_at < watermark  # scheduled runs will not read it again
    # A customer bcsync created in Sales (its lookups are known to resolve), last synchronized from a
    # BC version older than the change: as BC does, only a later modification counts as a change.
    pair = couplings[
        (couplings["coupled_by"] == "create")
        & (couplings["to_crm_result"] == "Success")
        & ~couplings["skipped"]
        & (couplings["bc_synced_on"] < changed_at)
    ].iloc[0]
    phone = "+1 425 555 0142"
    bc_update(sandbox, "customer", pair["bc_id"], {"phoneNumber": phone, "lastModifiedDateTime": changed_at})

    window = {
        "from_date": _iso(changed_at - timedelta(minutes=45)),
        "to_date": _iso(changed_at + timedelta(minutes=15)),
    }
    first = _backfill_counters(api, dag_id, window, reprocess="none")
    covering = [interval for interval in first if interval[0] <= changed_at < interval[1]]
    assert len(covering) == 1 and len(first) >= 2, first
    for interval, (state, counters) in first.items():
        to_crm = counters["ToIntegrationTable"]
        assert state == "success", (interval, counters)
        assert to_crm["Modified"] == (1 if interval in covering else 0), (interval, counters)
        assert to_crm["Failed"] == to_crm["Inserted"] == 0, (interval, counters)
    account = dataverse_get(sandbox, "account", pair["crm_id"])
    assert account is not None and account["telephone1"] == phone

    for service in ("bc", "dataverse"):
        sandbox.admin(service, "POST", "stats/reset")
    again = _backfill_counters(api, dag_id, window, reprocess="completed")
    assert set(again) == set(first)
    for interval, (state, counters) in again.items():
        assert state == "success", (interval, counters)
        # A run's counters cover all its tries: the covering run still reports the record its first
        # try modified, and this try left it alone.
        assert counters == first[interval][1], (interval, counters)
    for service in ("bc", "dataverse"):  # idempotent: read and compared, nothing written again
        methods = sandbox.admin(service, "GET", "stats")["by_method"]
        assert set(methods) <= {"GET"}, (service, methods)

    store = CouplingStore(airflow_stack.store_url)
    try:
        assert store.get_watermark("CUSTOMER", "ToIntegrationTable") == watermark
    finally:
        store.dispose()


def _backfill_counters(
    api, dag_id: str, window: dict[str, str], *, reprocess: str
) -> dict[tuple[datetime, datetime], tuple[str, dict]]:
    """Create a backfill through the REST API, wait for it; per data interval: run state and counters."""
    started = time.monotonic()
    backfill = api.create_backfill(dag_id, **window, reprocess_behavior=reprocess, max_active_runs=2)
    api.wait_for_backfill(backfill["id"], timeout=RUN_TIMEOUT * 2)
    start, end = _dt(window["from_date"]), _dt(window["to_date"])
    runs = [r for r in api.runs(dag_id, run_type="backfill") if start <= _dt(r["logical_date"]) <= end]
    record_timing(
        f"{dag_id}: backfill of {len(runs)} interval(s), reprocess={reprocess}", time.monotonic() - started
    )
    return {
        (_dt(r["data_interval_start"]), _dt(r["data_interval_end"])): (
            r["state"],
            counters_in(r["note"] or ""),
        )
        for r in runs
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
