"""BC's synchronization pages in the real Airflow API server: mounted by the bcsync plugin at /bcsync,
behind Airflow's authentication, listed by Airflow as the plugin's views, reading the store the runs
wrote.

Independent of the other modules sharing the session's stack: it triggers its own CURRENCY run with a
currency of its own that has no exchange rate in BC, so a record fails whatever ran before (CHF, the
seed's currency without a rate, fails too unless test_operations.py gave it one earlier).
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from e2e_stack import AirflowStack, record_timing
from sandbox_data import bc_insert, bc_rows

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 150.0
DAG_ID = "bcsync_currency"


def currencies_without_a_rate(stack: AirflowStack) -> set[str]:
    """BC's currency codes that have no exchange rate: exactly the ones a full sync must fail."""
    codes = {str(r["code"]) for r in bc_rows(stack.sandbox, "currency")}
    rated = {str(r["currencyCode"]) for r in bc_rows(stack.sandbox, "currencyExchangeRate")}
    return codes - rated


@pytest.fixture(scope="module")
def currency_run(airflow_stack: AirflowStack) -> tuple[str, set[str]]:
    """A full CURRENCY run with a currency of this module's own that has no exchange rate; returns the
    run id and the codes that must have failed in it."""
    api = airflow_stack.api
    code = f"W{uuid.uuid4().hex[:5].upper()}"
    bc_insert(airflow_stack.sandbox, "currency", {"code": code, "displayName": f"Web test {code}"})
    failing = currencies_without_a_rate(airflow_stack)
    assert code in failing

    api.unpause(DAG_ID)
    started = time.monotonic()
    run_id = api.trigger(DAG_ID, {"full_sync": True})
    run = api.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)
    record_timing(f"{DAG_ID} (web): trigger → {run['state']} (client side)", time.monotonic() - started)
    assert run["state"] == "failed", airflow_stack.logs()
    return run_id, failing


@pytest.fixture(scope="module")
def session(airflow_stack: AirflowStack) -> requests.Session:
    """The API client's session, carrying its Bearer JWT."""
    api = airflow_stack.api
    if "Authorization" not in api.session.headers:
        api.authenticate()
    return api.session


def test_the_errors_page_shows_the_runs_failed_currencies_as_json(
    airflow_stack: AirflowStack, session: requests.Session, currency_run: tuple[str, set[str]]
):
    run_id, failing = currency_run
    response = session.get(f"{airflow_stack.api.base_url}/bcsync/errors?job=CURRENCY&format=json", timeout=30)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job"] == "CURRENCY"
    mine = [e for e in body["errors"] if e["run_id"] == run_id]
    assert {e["bc_number"] for e in mine} == failing
    for error in mine:
        assert error["direction"] == "ToIntegrationTable"
        assert (error["dag_id"], error["task_id"], error["try_number"]) == (DAG_ID, "load_crm", 1)
        assert error["message"] == (
            f"Cannot create or update the currency {error['bc_number']} in Dynamics 365 Sales, because "
            "there is no exchange rate defined for it."
        )
        assert error["bc_id"] and error["crm_id"] is None  # never created in Dataverse, so not coupled
    if "CHF" in failing:  # the seed's currency without a rate (this module ran before any fixed it)
        assert any(e["bc_number"] == "CHF" for e in mine)


def test_the_pages_are_behind_airflows_authentication(
    airflow_stack: AirflowStack, session: requests.Session, currency_run: tuple[str, set[str]]
):
    """A token Airflow does not accept is refused, as Airflow's own API refuses it. (The stack runs the
    Simple auth manager with `simple_auth_manager_all_admins`, whose middleware gives every request
    without credentials an admin token, so there a request without credentials passes, on Airflow's
    API as on these pages: the 401 of Airflow's `get_user` is checked in tests/unit/plugin.)"""
    base = airflow_stack.api.base_url
    pages = ("/bcsync/errors?job=CURRENCY&format=json", "/bcsync/jobs", "/bcsync/skipped?job=CURRENCY")
    with requests.Session() as stranger:
        stranger.trust_env = False
        for path in pages:
            assert (
                stranger.get(f"{base}{path}", timeout=30).status_code
                == stranger.get(f"{base}/api/v2/dags", timeout=30).status_code
            ), path

        stranger.headers["Authorization"] = "Bearer not-a-token-of-this-airflow"
        refused = stranger.get(f"{base}/api/v2/dags", timeout=30).status_code
        assert refused in (401, 403)
        for path in pages:
            assert stranger.get(f"{base}{path}", timeout=30).status_code == refused, path
        restore = stranger.post(
            f"{base}/bcsync/skipped/restore", data={"job": "CURRENCY", "all": "1"}, timeout=30
        )
        assert restore.status_code == refused


def test_the_job_log_page_shows_the_currency_run(
    airflow_stack: AirflowStack, session: requests.Session, currency_run: tuple[str, set[str]]
):
    run_id, _ = currency_run
    response = session.get(f"{airflow_stack.api.base_url}/bcsync/jobs", timeout=30)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Integration Synch. Job List</h1>" in response.text
    assert ">CURRENCY</a>" in response.text
    assert f">{run_id}</a>" in response.text


def test_restore_redirects_back_to_the_skipped_records(
    airflow_stack: AirflowStack, session: requests.Session, currency_run: tuple[str, set[str]]
):
    base = airflow_stack.api.base_url
    response = session.post(
        f"{base}/bcsync/skipped/restore", data={"job": "CURRENCY", "all": "1"}, timeout=30
    )

    assert response.status_code == 200, response.text
    assert [r.status_code for r in response.history] == [303]
    assert response.url == f"{base}/bcsync/skipped?job=CURRENCY&restored=0"
    assert "<h1>CRM Skipped Records</h1>" in response.text


def test_airflow_lists_the_plugins_app_and_views(airflow_stack: AirflowStack):
    plugins = airflow_stack.api.json("GET", "plugins", params={"limit": 100})["plugins"]

    [bcsync] = [p for p in plugins if p["name"] == "bcsync"]
    assert bcsync["fastapi_apps"] == [
        {"app": "fastapi.applications.FastAPI", "url_prefix": "/bcsync", "name": "bcsync"}
    ]
    views = {v["url_route"]: v for v in bcsync["external_views"]}
    assert set(views) == {
        "bcsync-mappings",
        "bcsync-couplings",
        "bcsync-jobs",
        "bcsync-errors",
        "bcsync-skipped",
    }
    assert views["bcsync-errors"]["href"] == "bcsync/errors"
    assert {(v["destination"], v["category"]) for v in views.values()} == {("nav", "browse")}
    assert bcsync["listeners"] == ["bcsync.listeners"]
