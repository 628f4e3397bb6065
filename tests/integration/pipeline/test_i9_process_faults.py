"""The process-level rows of the fault matrix (the service-level ones are in test_fault_matrix.py),
each followed by the same invariant check (`fault_invariants.py`):

* the local services killed (SIGKILL) while a write is in flight, and restarted on the same ports
  and data a moment later, in the middle of a CUSTOMER run;
* a load task killed with SIGKILL in the middle of its write (a process of its own, as on an Airflow
  worker), then run again as Airflow's retry does;
* commit-then-drop on single writes (a BC update with its ETag, a BC create with a chosen id on our
  API page, a Dataverse upsert): the record ends as if the answer had arrived, once;
* Entra issuing tokens that expire within seconds, switched at run time: the client renews them.

Each test prints its row: `MATRIX | <fault> | <service> | <what happened>`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import harness_for
from fault_invariants import (
    WRITES,
    check_counters,
    check_invariants,
    edit_both_sides,
    record_counts,
    stable_pairs,
)

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.couple import couple
from bcsync.pipeline.extract import extract
from bcsync.pipeline.record import lease_holder
from bcsync.pipeline.staging import run_folder
from bcsync.pipeline.transform import transform
from sandbox.launcher import RunningSandbox, start_sandbox

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DESTINATION = {"bc": Side.BC, "dataverse": Side.CRM}
COMMITTED = "scripted_delay_after_commit"


def matrix_row(fault: str, service: str, outcome: str) -> None:
    print(f"\nMATRIX | {fault} | {service} | {outcome}")


def synchronized(harness):
    """Dependencies and CUSTOMER fully synchronized; returns the record counts and the stable pairs."""
    for job in ("SALESPEOPLE", "CURRENCY", "CUSTOMER"):
        harness.run(job, RunKind.FULL)
    return record_counts(harness), stable_pairs(harness)


def hold_the_answer_after_commit(harness, service: str, seconds: float) -> None:
    """The service's next write commits, then its answer waits `seconds` (the fault is counted at the
    commit, so a test can act while the answer is outstanding)."""
    rule = {"method": "POST", "path": WRITES[service], "fault": "delay_after_commit", "seconds": seconds}
    harness.sandbox.admin(service, "POST", "faults", json={"rules": [rule]})


def wait_for_commit(
    sandbox: RunningSandbox, service: str, writer: subprocess.Popen[str] | None = None, timeout: float = 60
) -> None:
    """Until the held write has committed (`writer`: the process sending it, which must not end first)."""
    deadline = time.monotonic() + timeout
    while (sandbox.admin(service, "GET", "stats").get("faults_injected") or {}).get(COMMITTED, 0) < 1:
        assert writer is None or writer.poll() is None, writer.communicate()[0]
        assert time.monotonic() < deadline, f"no write reached {service} within {timeout}s"
        time.sleep(0.05)


def recover_and_check(harness, before, edits, fault: str) -> dict:
    for hook in ("bc", "crm"):  # fresh clients, as the next task would have
        harness.services.__dict__.pop(hook, None)
    recovery = harness.run("CUSTOMER")
    check_counters(harness, recovery, scheduled=True)
    check_invariants(harness, before, edits, fault)
    return recovery


# ---- services killed and restarted ---------------------------------------------------------------------


@pytest.fixture
def own_sandbox(tmp_path_factory) -> Iterator[dict[str, RunningSandbox]]:
    """A sandbox of this test's own (it gets killed), seeded as the shared one."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("killed-sandbox"), seed_customers=30)
    holder = {"sandbox": sandbox}
    yield holder
    holder["sandbox"].stop()


def restart(sandbox: RunningSandbox) -> RunningSandbox:
    """The same services on the same ports and data directory (the SQLite database survives)."""
    settings = sandbox.settings
    ports = {
        "SANDBOX_ENTRA_PORT": settings.entra_port,
        "SANDBOX_DATAVERSE_PORT": settings.dataverse_port,
        "SANDBOX_BC_PORT": settings.bc_port,
    }
    return start_sandbox(settings.data_dir, env={k: str(v) for k, v in ports.items()}, seed_customers=30)


@pytest.mark.parametrize("service", ["bc", "dataverse"])
def test_services_killed_and_restarted_mid_run(own_sandbox, tmp_path, monkeypatch, edit_mappings, service):
    harness = harness_for(own_sandbox["sandbox"], tmp_path, monkeypatch, edit_mappings)
    try:
        before, pairs = synchronized(harness)
        edits = edit_both_sides(harness, pairs.head(6), "7")
        hold_the_answer_after_commit(harness, service, seconds=30)
        failures: list[BaseException] = []

        def kill_then_restart() -> None:
            try:
                wait_for_commit(harness.sandbox, service)
                harness.sandbox.process.kill()  # SIGKILL: no graceful shutdown
                harness.sandbox.process.wait(15)
                time.sleep(1)
                own_sandbox["sandbox"] = harness.sandbox = restart(harness.sandbox)
            except BaseException as error:  # reported below
                failures.append(error)

        killer = threading.Thread(target=kill_then_restart)
        killer.start()
        try:
            harness.run("CUSTOMER")
            outcome = "the run completed"
        except Exception as error:  # the task fails, as Airflow records it; its retry follows
            outcome = f"the run failed: {type(error).__name__}; its load retried"
        killer.join(120)
        assert not failures, failures
        assert harness.sandbox.process.poll() is None, "restarted"
        if outcome.startswith("the run failed"):
            harness.retry_load("CUSTOMER", DESTINATION[service])
            harness.store.release_lease("CUSTOMER", lease_holder(harness.last_runs["CUSTOMER"]))
        recover_and_check(harness, before, edits, f"killed during a {service} write")
        matrix_row("services killed and restarted mid-run", service, f"{outcome}; invariants hold")
    finally:
        harness.services.store.dispose()


# ---- a load task killed with SIGKILL ---------------------------------------------------------------------


def plan_a_run(harness, run: RunContext) -> None:
    """Extract, couple and plan one scheduled CUSTOMER run in this process, as its first tasks would."""
    services = harness.services
    mapping = services.registry.get("CUSTOMER")
    folder = run_folder(run.dag_id, run.run_id, mapping.name, harness.staging)
    extracts = {side: extract(mapping, side, run, services, folder) for side in Side}
    transform(mapping, run, services, folder, extracts, couple(mapping, run, services, folder, extracts))
    harness.last_runs["CUSTOMER"] = run


def start_load_task(harness, run: RunContext, destination: Side) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            str(ROOT / p) for p in ("plugins", "include", "tests/integration/pipeline")
        ),
    }
    arguments = ["CUSTOMER", destination.value, run.dag_id, run.run_id, run.kind.value, str(harness.staging)]
    return subprocess.Popen(
        [sys.executable, str(HERE / "i9_load_task.py"), *arguments],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("service", ["bc", "dataverse"])
def test_a_load_task_killed_mid_write_and_run_again(harness, service):
    before, pairs = synchronized(harness)
    edits = edit_both_sides(harness, pairs.head(8), "8")
    mapping = harness.services.registry.get("CUSTOMER")
    run = RunContext(dag_id=mapping.dag_id, run_id=f"killed_{uuid.uuid4().hex[:8]}", kind=RunKind.SCHEDULED)
    plan_a_run(harness, run)
    hold_the_answer_after_commit(harness, service, seconds=60)

    task = start_load_task(harness, run, DESTINATION[service])
    wait_for_commit(harness.sandbox, service, task)
    task.kill()  # SIGKILL while its write is committed and its answer outstanding
    output = task.communicate(timeout=30)[0]
    assert task.returncode == -9, output
    assert "loaded" not in output
    harness.sandbox.admin(service, "DELETE", "faults")

    retried = harness.retry_load("CUSTOMER", DESTINATION[service])  # Airflow's retry: try 2
    harness.store.release_lease("CUSTOMER", lease_holder(harness.last_runs["CUSTOMER"]))
    assert retried.failed == 0, retried
    recover_and_check(harness, before, edits, f"load killed during a {service} write")
    matrix_row(
        "load task killed (SIGKILL) mid-write, rerun",
        service,
        f"retry: {retried.counters}; no duplicate, every edit arrived, pairs equal",
    )


# ---- commit-then-drop on single writes --------------------------------------------------------------------


def drop_the_next_answer(harness, service: str, method: str, path: str) -> None:
    rule = {"method": method, "path": path, "fault": "drop_after_commit", "count": 1}
    harness.sandbox.admin(service, "POST", "faults", json={"rules": [rule]})


def statuses(harness, service: str, method: str) -> dict[str, int]:
    stats = harness.sandbox.admin(service, "GET", "stats")["by_route"]
    out: dict[str, int] = {}
    for route, counts in stats.items():
        if route.startswith(f"{method} "):
            for status, count in counts.items():
                out[status] = out.get(status, 0) + count
    return out


def test_single_writes_whose_answer_is_lost_end_as_if_it_had_arrived(harness):
    before, pairs = synchronized(harness)
    pair = pairs.iloc[0]
    rows = []

    # A BC update with its ETag: sent again it would fail with 409; it is read back and compared.
    current = harness.bc.get("customers", pair["bc_id"], select=["phoneNumber"])
    harness.sandbox.admin("bc", "POST", "stats/reset")
    drop_the_next_answer(harness, "bc", "PATCH", "/customers")
    updated = harness.bc.update(
        "customers", pair["bc_id"], {"phoneNumber": "+1 425 555 0777"}, etag=current["@odata.etag"]
    )
    assert updated["phoneNumber"] == "+1 425 555 0777"
    assert statuses(harness, "bc", "PATCH") == {"dropped": 1}, "applied once, not sent again"
    rows.append(("BC single update (ETag)", "applied once, found by reading it back; no 409"))

    # A BC create with a chosen id on our API page: found by that id, not created twice.
    chosen, name = str(uuid.uuid4()), f"Single {uuid.uuid4().hex[:8]}"
    harness.sandbox.admin("bc", "POST", "stats/reset")
    drop_the_next_answer(harness, "bc", "POST", "/customers")
    created = harness.bc.create("customers", {"id": chosen, "name": name}, api="custom")
    assert created["id"].lower() == chosen
    named = [row for page in harness.bc.iter_pages("customers", select=["id", "displayName"]) for row in page]
    assert [r["id"].lower() for r in named if r["displayName"] == name] == [chosen]
    assert statuses(harness, "bc", "POST") == {"dropped": 1}
    rows.append(("BC single create (chosen id, our page)", "created once, found by its id"))

    # A Dataverse upsert by the id bcsync chose: sending it again updates the same row.
    account, account_name = str(uuid.uuid4()), f"Upsert {uuid.uuid4().hex[:8]}"
    harness.sandbox.admin("dataverse", "POST", "stats/reset")
    drop_the_next_answer(harness, "dataverse", "PATCH", "/accounts")
    harness.crm.upsert("accounts", account, {"name": account_name})
    assert harness.crm.get("accounts", account, select=["name"])["name"] == account_name
    assert statuses(harness, "dataverse", "PATCH") == {"dropped": 1, "204": 1}, "sent again, one row"
    matches = [
        r for p in harness.crm.iter_pages("accounts", select=["name"]) for r in p if r["name"] == account_name
    ]
    assert len(matches) == 1
    rows.append(("Dataverse single upsert (chosen id)", "sent again, one row"))

    after = record_counts(harness)
    assert after == {"accounts": before["accounts"] + 1, "customers": before["customers"] + 1}
    for what, outcome in rows:
        matrix_row("commit then drop (single write)", what, outcome)


# ---- short token lifetime ----------------------------------------------------------------------------


def test_tokens_that_expire_within_seconds_are_renewed_during_the_run(harness):
    before, pairs = synchronized(harness)
    edits = edit_both_sides(harness, pairs.head(6), "9")
    lifetime = 2
    harness.sandbox.admin("entra", "PUT", "token-lifetime", json={"seconds": lifetime})
    for hook in ("bc", "crm"):  # new tasks: no token from before the change
        harness.services.__dict__.pop(hook, None)
    for service in ("entra", "bc", "dataverse"):
        harness.sandbox.admin(service, "POST", "stats/reset")

    started = time.monotonic()
    summary = harness.run("CUSTOMER")
    seconds = time.monotonic() - started
    issued = harness.sandbox.admin("entra", "GET", "stats")["by_method"].get("POST", 0)
    refused = sum(
        harness.sandbox.admin(s, "GET", "stats")["by_status"].get("401", 0) for s in ("bc", "dataverse")
    )
    check_counters(harness, summary, scheduled=True)
    check_invariants(harness, before, edits, "tokens expiring within seconds")
    assert issued >= 2, "a token per service at least"

    # The tokens really expire: one from the token endpoint is refused once its lifetime has passed.
    token = harness.sandbox._session.post(
        harness.sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": harness.sandbox.client_id,
            "client_secret": harness.sandbox.client_secret,
            "scope": harness.sandbox.bc_scope,
        },
        timeout=30,
    ).json()
    assert token["expires_in"] == lifetime
    time.sleep(lifetime + 1)
    stale = requests.get(
        f"{harness.sandbox.bc_company_url}/customers?$top=1",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        verify=str(harness.sandbox.ca_file),
        timeout=30,
    )
    assert stale.status_code == 401, stale.text
    matrix_row(
        "short token lifetime",
        "both",
        f"{lifetime}s tokens: run of {seconds:.1f}s completed with {issued} tokens issued (MSAL renews a "
        f"token with under 5 minutes left), {refused} request(s) answered 401; an expired token is refused",
    )
