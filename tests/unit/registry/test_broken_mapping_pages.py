"""With a broken mapping file, BC's pages in the Airflow UI and `bin/bcsync jobs|errors|skipped` keep
working: they say which mappings are not loaded, and the broken jobs' history stays readable.

CONTACT's YAML is broken here; CUSTOMER looks its primary contact up through CONTACT, so it is not loaded
either, while SALESPEOPLE and CURRENCY are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.api_fastapi.app import _AuthManagerState
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import FastAPI
from fastapi.testclient import TestClient
from store_records import Clock, coupled_customers, customer_error

from bcsync.cli import main
from bcsync.store import CouplingStore, Direction
from bcsync.web import URL_PREFIX
from bcsync.web.app import create_app

RUN = "scheduled__2026-03-01T08:30:00+00:00"
MESSAGE = "Salesperson/Purchaser HR must be coupled to a record in Dynamics 365 Sales."


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A CUSTOMER run that skipped a customer (failed twice) and a CURRENCY run, in the store that the
    Airflow Connection `bcsync_store` names."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STORE", url)
    store = CouplingStore(url, clock=Clock())
    bc, _ = coupled_customers(store, 1)
    for _ in range(2):
        job = store.start_job("CUSTOMER", Direction.TO_CRM, run_id=RUN)
        failure = {"bc_id": bc[0], "result": "Failure", "message": MESSAGE}
        store.record_sync_results("CUSTOMER", Direction.TO_CRM, [failure], job_id=job)
        error = customer_error(Direction.TO_CRM, job, RUN, "load_crm", MESSAGE, try_number=1, bc_id=bc[0])
        store.add_record_errors([error])
        store.finish_job(job, {"Failed": 1})
    store.finish_job(store.start_job("CURRENCY", Direction.TO_CRM, run_id=RUN), {"Unchanged": 3})
    yield url
    store.dispose()


@pytest.fixture
def broken_contact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit_mappings: Callable[..., Path]
) -> Path:
    def misspell(mapping: dict[str, Any]) -> None:
        mapping["fields"][0]["direction"] = "Sideways"

    directory = edit_mappings(tmp_path / "mappings", {"CONTACT": misspell})
    monkeypatch.setenv("BCSYNC_MAPPINGS_DIR", str(directory))
    return directory


@pytest.fixture
def viewer(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app mounted as Airflow's API server mounts it, read by a user with the viewer role."""
    monkeypatch.setattr(_AuthManagerState, "instance", SimpleAuthManager())
    app = create_app()
    app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username="a viewer", role="viewer")
    root = FastAPI()
    root.mount(URL_PREFIX, app)
    with TestClient(root, base_url="http://airflow.test") as client:
        yield client


def test_the_job_list_works_and_says_which_mappings_are_not_loaded(viewer, broken_contact, store_url):
    response = viewer.get("/bcsync/jobs")

    assert response.status_code == 200
    assert "Not loaded, so not synchronizing: mapping CONTACT (" in response.text
    assert "mapping CUSTOMER (" in response.text
    assert "&#x27;bin/bcsync mappings validate&#x27; lists the problems." in response.text
    # The broken jobs stay in the picker and their runs in the list, linked to their DAG.
    assert '<option value="CUSTOMER"' in response.text and '<option value="CONTACT"' in response.text
    assert 'href="../dags/bcsync_customer"' in response.text


def test_a_broken_jobs_errors_and_skipped_records_stay_readable(viewer, broken_contact, store_url):
    errors = viewer.get("/bcsync/errors", params={"job": "customer", "format": "json"})
    skipped = viewer.get("/bcsync/skipped", params={"job": "CUSTOMER"})

    assert errors.status_code == 200
    # The record failed twice: its newer error supersedes the older one, which is no longer open.
    assert [(e["job"], e["message"], e["dag_id"]) for e in errors.json()["errors"]] == [
        ("CUSTOMER", MESSAGE, "bcsync_customer")
    ]
    assert skipped.status_code == 200
    assert "Restore all" in skipped.text and "Not loaded, so not synchronizing" in skipped.text


def test_an_unknown_job_is_still_refused(viewer, broken_contact, store_url):
    response = viewer.get("/bcsync/jobs", params={"job": "VENDOR"})

    assert response.status_code == 400
    assert "unknown job &#x27;VENDOR&#x27;" in response.text


def test_the_commands_read_a_broken_jobs_history_and_say_it_does_not_run(
    broken_contact, store_url, capsys: pytest.CaptureFixture[str]
):
    assert main(["errors", "CUSTOMER", "--store", store_url, "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.count(MESSAGE) == 1  # the open one: the record's newer error superseded the older
    assert "bcsync: mapping CUSTOMER is broken and not loaded, so its job does not run" in err

    assert main(["skipped", "customer", "--store", store_url]) == 0
    assert "0000000" in capsys.readouterr().out

    assert main(["jobs", "CURRENCY", "--store", store_url]) == 0
    assert "CURRENCY" in capsys.readouterr().out


def test_the_mapping_listing_shows_the_loaded_ones_and_names_the_others(
    broken_contact, capsys: pytest.CaptureFixture[str]
):
    assert main(["mappings"]) == 0
    out, err = capsys.readouterr()
    assert "CURRENCY: Currency → transactioncurrency" in out and "CUSTOMER:" not in out
    assert err.startswith("bcsync: not loaded: mapping CONTACT (")
