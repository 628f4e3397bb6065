"""A coupling store on a temporary SQLite file, filled the way a few real runs would fill it, and a
runner that drives `bcsync.cli.main` and captures what an operator would see."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import CURRENCY_ERROR, POST_CODE_ERROR, SALESPERSON_ERROR, Filled, Result, Run
from store_records import Clock, coupled_customers, customer_error

from bcsync.cli import main
from bcsync.store import CouplingStore, Direction

TO, FROM = Direction.TO_CRM, Direction.FROM_CRM
RUNS = ("scheduled__2026-03-01T08:00:00+00:00", "scheduled__2026-03-01T08:30:00+00:00")


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Tests see the checkout's mappings and never a store configured on the machine. When another test
    module has imported Airflow, its logging prints Alembic's INFO lines on opening a store; the CLI
    sends them to stderr, and here they are held back so the tests can read stderr exactly."""
    monkeypatch.delenv("BCSYNC_MAPPINGS_DIR", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_BCSYNC_STORE", raising=False)
    caplog.set_level(logging.WARNING, logger="alembic")


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """`run("jobs", "--store", url)`: the exit code and the captured stdout/stderr of `bcsync.cli.main`."""

    def call(*argv: str) -> Result:
        capsys.readouterr()  # only this command's output
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def empty_store(store_url: str) -> str:
    """The URL of a migrated store with nothing in it."""
    store = CouplingStore(store_url)
    store.jobs()  # the first call creates the schema
    store.dispose()
    return store_url


@pytest.fixture
def filled(store_url: str) -> Iterator[Filled]:
    """Two scheduled CUSTOMER runs (To twice, From once) and a CONTACT job still running.

    The same error twice in a row skips CUSTOMER records 0 and 1 (BC's rule); record 2 fails with a
    different message each time, so it is failing but not skipped; record 3 syncs To and fails From.
    """
    clock = Clock()
    store = CouplingStore(store_url, clock=clock)
    bc, crm = coupled_customers(store, 4)

    to_job = ""
    for attempt, run_id in enumerate(RUNS):
        to_job = store.start_job("CUSTOMER", TO, run_id=run_id)
        failures = {0: SALESPERSON_ERROR, 1: SALESPERSON_ERROR, 2: CURRENCY_ERROR if attempt else "Timeout"}
        store.record_sync_results(
            "CUSTOMER",
            TO,
            [
                *({"bc_id": bc[i], "result": "Failure", "message": text} for i, text in failures.items()),
                {"bc_id": bc[3], "result": "Success", "bc_modified_on": clock.now},
            ],
            job_id=to_job,
        )
        store.add_record_errors(
            [
                customer_error(
                    TO, to_job, run_id, "load_crm", text, try_number=1, bc_id=bc[i], bc_number=f"C0{i}010"
                )
                for i, text in failures.items()
            ]
        )
        counters = {"Modified": 1 - attempt, "Unchanged": attempt, "Failed": 3 - 2 * attempt}
        store.finish_job(to_job, {**counters, "Skipped": 2 * attempt}, message="3 record(s) failed")
        clock.advance(30)

    from_job = store.start_job("CUSTOMER", FROM, run_id=RUNS[1])
    store.add_record_errors(
        [customer_error(FROM, from_job, RUNS[1], "load_bc", POST_CODE_ERROR, try_number=2, crm_id=crm[3])]
    )
    store.finish_job(from_job, {"Inserted": 4, "Failed": 1, "Coupled": 2})
    clock.advance(5)
    contact_job = store.start_job(
        "CONTACT", TO, run_id="manual__2026-03-01T09:05:00+00:00", job_type="manual"
    )
    yield Filled(store_url, store, bc, crm, to_job, from_job, contact_job)
    store.dispose()
