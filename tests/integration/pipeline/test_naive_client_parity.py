"""The benchmark's per-record client (benchmarks/naive_client.py) does what bcsync's CUSTOMER job does.

Both run on the same seed (50 customers; the sandbox is reset between them): an initial full
synchronization BC → Sales, an incremental run after a few customers changed in BC, and a run with
nothing changed. Their counters must be equal run by run, and the accounts coupled to each customer
must hold the same mapped values at the end. Lookups (owner, currency) go through the SALESPEOPLE
and CURRENCY couplings bcsync made for each, as in the benchmark.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath

from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.runner import run_job
from bcsync.pipeline.services import Services
from bcsync_dev.sandbox_connections import sandbox_connections
from sandbox.launcher import RunningSandbox, running_sandbox

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
TO_SALES = "ToIntegrationTable"
CHANGED = ("C00010", "C00020", "C00040")  # customer numbers edited in BC between the runs (coupled ones)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("parity-sandbox"), seed_customers=50) as running:
        yield running


@pytest.fixture
def services_for(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Services]]:
    """Services on the sandbox with the coupling store `<name>.db` (a fresh one per name)."""
    for variable, value in sandbox_connections(sandbox).items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("BCSYNC_MAPPINGS_DIR", raising=False)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    made: list[Services] = []

    def make(name: str) -> Services:
        monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STORE", f"sqlite:///{tmp_path / name}.db")
        made.append(Services())
        return made[-1]

    yield make
    for services in made:
        services.store.dispose()


_runs = itertools.count(1)


def run_bcsync(
    services: Services, job: str, kind: RunKind, staging: Path, direction: str | None = None
) -> dict:
    mapping = services.registry.get(job)
    run = RunContext(dag_id=mapping.dag_id, run_id=f"parity_{next(_runs)}", kind=kind, direction=direction)
    summary = run_job(job, run, services, ObjectStoragePath(f"file://{staging}")).summary()
    return summary["directions"].get(direction) if direction else summary


def bcsync_counters(summary: dict[str, Any]) -> dict[str, int]:
    return {name.lower(): int(value) for name, value in summary.items() if name != "status"}


def change_customers(services: Services, numbers: dict[str, str], stamp: str) -> None:
    """A BC user edits the phone number and the address of a few customers."""
    for index, number in enumerate(CHANGED):
        changes = {"phoneNumber": f"+1 425 555 {index:04d}", "addressLine2": f"Suite {stamp}{index}"}
        services.bc.update("customers", numbers[number], changes, etag="*")


def accounts_by_customer(services: Services, couplings: dict[str, str], client: Any) -> dict:
    """Per BC customer id: the mapped fields of the Sales account it is coupled to (lookups as ids)."""
    select = client.account_columns()
    accounts = {
        str(row["accountid"]).lower(): client.named(row)
        for page in services.crm.iter_pages("accounts", select=select)
        for row in page
    }
    return {
        bc_id: {k: v for k, v in accounts[crm_id.lower()].items() if k not in ("accountid", "modifiedon")}
        for bc_id, crm_id in couplings.items()
    }


def test_naive_client_matches_bcsync_counters_and_values(
    sandbox: RunningSandbox, services_for: Callable[[str], Services], tmp_path: Path
) -> None:
    from naive_client import Endpoints, NaiveClient

    # bcsync: dependencies, then the three CUSTOMER runs BC → Sales.
    sandbox.reset()
    ours = services_for("bcsync")
    for dependency in ("SALESPEOPLE", "CURRENCY"):
        run_bcsync(ours, dependency, RunKind.FULL, tmp_path / "staging")
    numbers = {
        row["number"]: row["id"]
        for page in ours.bc.iter_pages("customers", select=["id", "number"])
        for row in page
    }
    bcsync_runs = [
        bcsync_counters(run_bcsync(ours, "CUSTOMER", RunKind.FULL, tmp_path / "staging", TO_SALES))
    ]
    change_customers(ours, numbers, "A")
    bcsync_runs.append(
        bcsync_counters(run_bcsync(ours, "CUSTOMER", RunKind.SCHEDULED, tmp_path / "staging", TO_SALES))
    )
    bcsync_runs.append(
        bcsync_counters(run_bcsync(ours, "CUSTOMER", RunKind.SCHEDULED, tmp_path / "staging", TO_SALES))
    )
    ours_coupled = dict(ours.store.couplings("CUSTOMER")[["bc_id", "crm_id"]].itertuples(index=False))
    probe = NaiveClient(Endpoints.from_sandbox(sandbox), tmp_path / "probe.db", "sqlite://")
    ours_accounts = accounts_by_customer(ours, ours_coupled, probe)

    # The naive client on the same seed, with bcsync's dependencies' couplings for its lookups.
    sandbox.reset()
    theirs = services_for("naive_lookups")
    for dependency in ("SALESPEOPLE", "CURRENCY"):
        run_bcsync(theirs, dependency, RunKind.FULL, tmp_path / "staging2")
    client = NaiveClient(
        Endpoints.from_sandbox(sandbox), tmp_path / "naive.db", f"sqlite:///{tmp_path / 'naive_lookups'}.db"
    )
    naive_runs = [client.sync(full=True)]
    change_customers(theirs, numbers, "A")
    naive_runs += [client.sync(full=False), client.sync(full=False)]
    naive_coupled = dict(client.db.execute("select bc_id, crm_id from couplings").fetchall())

    assert naive_runs == bcsync_runs
    assert bcsync_runs[0]["inserted"] > 0 and bcsync_runs[0]["coupled"] > 0  # both paths were taken
    assert bcsync_runs[1]["modified"] == len(CHANGED)
    assert set(naive_coupled) == set(ours_coupled)
    naive_accounts = accounts_by_customer(theirs, naive_coupled, client)
    assert naive_accounts == ours_accounts
    changed_ids = [numbers[number] for number in CHANGED]
    assert {naive_accounts[i]["telephone1"] for i in changed_ids} == {f"+1 425 555 {n:04d}" for n in range(3)}
