"""Scheduled and asset-triggered runs under the real scheduler (its job schedule on).

A stack of its own, with a mappings folder in which CUSTOMER runs every 30 seconds (so a scheduled
run comes quickly) and CONTACT runs after CUSTOMER (`schedule: {after: [CUSTOMER]}`): the asset
event CUSTOMER's `record_job` adds, with its counters, starts CONTACT.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from airflow_api import AirflowApi
from e2e_stack import AirflowStack, airflow_stack, record_timing

from bcsync.operators.base import TIME_MARKER

pytestmark = pytest.mark.e2e

CUSTOMER, CONTACT = "bcsync_customer", "bcsync_contact"
WAIT = 240.0
CODE_TIME = re.compile(rf"{TIME_MARKER}: \S+ (?P<step>\w+) (?P<seconds>[\d.]+) s")


@pytest.fixture(scope="module")
def scheduled_stack(
    tmp_path_factory: pytest.TempPathFactory, edit_mappings: Callable[..., Path]
) -> Iterator[AirflowStack]:
    work_dir = tmp_path_factory.mktemp("e2e-schedules")
    mappings = edit_mappings(
        work_dir / "mappings",
        {
            "CUSTOMER": lambda mapping: mapping.update(schedule={"every": "30s"}),
            "CONTACT": lambda mapping: mapping.update(schedule={"after": ["CUSTOMER"]}),
        },
    )
    with airflow_stack(
        work_dir, (CUSTOMER, CONTACT), job_schedule=True, mappings_dir=mappings, label="schedules stack"
    ) as stack:
        yield stack


def test_a_job_scheduled_after_another_starts_when_it_finished_but_not_after_its_dry_run(
    scheduled_stack: AirflowStack,
):
    api = scheduled_stack.api
    api.unpause(CONTACT)  # scheduled on CUSTOMER's asset only: no run until CUSTOMER finishes
    # Queued while CUSTOMER is paused; unpausing it adds its first scheduled run as well.
    dry_run_id = api.trigger(CUSTOMER, {"full_sync": True, "dry_run": True})
    full_sync_id = api.trigger(CUSTOMER, {"full_sync": True})
    api.unpause(CUSTOMER)
    for run_id in (dry_run_id, full_sync_id):
        api.wait_for_run(CUSTOMER, run_id, timeout=WAIT)

    events = {e["source_run_id"]: e for e in api.asset_events(source_dag_id=CUSTOMER)}
    assert dry_run_id not in events  # a dry run changed nothing: nothing downstream should run
    event = events[full_sync_id]
    assert event["uri"] == "bcsync://jobs/bcsync_customer" and event["source_task_id"] == "record_job"
    counters = event["extra"]["directions"]["ToIntegrationTable"]
    assert event["extra"]["run_kind"] == "full" and counters["Inserted"] + counters["Unchanged"] > 0

    # CONTACT ran because of CUSTOMER's events (several while it ran are consumed by one run).
    contact_run = _wait_for(
        lambda: next(
            (r for r in api.runs(CONTACT, run_type="asset_triggered") if r["state"] in ("success", "failed")),
            None,
        ),
        "an asset-triggered CONTACT run",
    )
    consumed = api.upstream_asset_events(CONTACT, contact_run["dag_run_id"])
    assert consumed and {e["source_dag_id"] for e in consumed} == {CUSTOMER}, consumed
    assert all("directions" in e["extra"] for e in consumed)
    assert dry_run_id not in {e["source_run_id"] for e in consumed}


def test_a_no_change_scheduled_run_writes_nothing_and_splits_its_time(scheduled_stack: AirflowStack):
    """The figure for the closing note: a scheduled run of CUSTOMER when nothing changed."""
    api, sandbox = scheduled_stack.api, scheduled_stack.sandbox
    api.unpause(CUSTOMER)
    _wait_for(lambda: _pause_between_runs(api, CONTACT), "a moment to pause CONTACT between its runs")
    # One scheduled run to settle what the full sync wrote (BC customers it created read back once).
    settled_after = datetime.now().astimezone()
    _next_scheduled_run(api, after=settled_after)
    for service in ("bc", "dataverse"):
        sandbox.admin(service, "POST", "stats/reset")
    run = _next_scheduled_run(api, after=datetime.now().astimezone())

    assert run["state"] == "success", scheduled_stack.logs()
    note = run["note"] or ""
    for direction in ("ToIntegrationTable", "FromIntegrationTable"):
        line = next(line for line in note.splitlines() if line.startswith(direction))
        for counter in ("Inserted", "Modified", "Deleted", "Failed"):
            assert f"{counter} 0" in line, note
    for service in ("bc", "dataverse"):
        methods = sandbox.admin(service, "GET", "stats")["by_method"]
        assert set(methods) <= {"GET"}, (service, methods)  # read, compared, nothing written

    timing = api.run_timing(CUSTOMER, run["dag_run_id"])
    code = _code_seconds(api, run["dag_run_id"])
    ours = sum(code.values())
    record_timing(
        f"{CUSTOMER} no-change scheduled run: wall {timing.wall:.1f}s = bcsync code {ours:.1f}s + Airflow "
        f"{timing.wall - ours:.1f}s (task processes {timing.busy - ours:.1f}s, scheduling gaps "
        f"{timing.idle:.1f}s); code per task: " + ", ".join(f"{t} {s:.2f}s" for t, s in code.items()),
        timing.wall,
    )
    # Every task that ran logged its own time. A run whose extracts found nothing changed skips the
    # rest: the couple task after its work (so it logged its time too), the others without starting.
    tasks = api.task_instances(CUSTOMER, run["dag_run_id"])
    ran = {ti["task_id"] for ti in tasks if ti["state"] != "skipped"}
    assert ran <= set(code) <= ran | {"couple"}
    assert 0 < ours < timing.busy


def _next_scheduled_run(api: AirflowApi, *, after: datetime) -> dict:
    """The first scheduled run that started after `after`, once it finished."""

    def finished() -> dict | None:
        for run in api.runs(CUSTOMER, run_type="scheduled"):
            started = run.get("start_date")
            if started and _dt(started) > after and run["state"] in ("success", "failed"):
                return run
        return None

    return _wait_for(finished, f"a scheduled {CUSTOMER} run started after {after:%H:%M:%S}")


def _pause_between_runs(api: AirflowApi, dag_id: str) -> bool:
    """Pause the DAG while none of its runs is running (a paused DAG's running run would never end),
    so CUSTOMER's runs are alone on the machine and their timing is their own."""
    if _running(api, dag_id):
        return False
    api.pause(dag_id)
    if _running(api, dag_id):  # started just before the pause took effect: let it finish, try again
        api.unpause(dag_id)
        return False
    return True


def _running(api: AirflowApi, dag_id: str) -> bool:
    return any(r["state"] == "running" for r in api.runs(dag_id))


def _code_seconds(api: AirflowApi, run_id: str) -> dict[str, float]:
    """Per task: the seconds our code took, from the line each task logs last (TIME_MARKER)."""
    seconds = {}
    for ti in api.task_instances(CUSTOMER, run_id):
        log = api.task_log(CUSTOMER, run_id, ti["task_id"], ti["try_number"], map_index=ti["map_index"])
        found = CODE_TIME.search(log)
        if found:
            seconds[ti["task_id"]] = float(found["seconds"])
    return seconds


def _wait_for(probe, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
