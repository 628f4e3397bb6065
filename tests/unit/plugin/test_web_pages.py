"""BC's synchronization pages in the Airflow UI (`bcsync.web`), without a running Airflow.

The app is mounted at /bcsync in a bare FastAPI app, as Airflow's API server mounts it, and reads a
temporary SQLite store through the Airflow Connection `bcsync_store` (an environment variable), as it
does in Airflow. Only the user resolution (`get_user`: token or cookie → user) is overridden, so
Airflow's access check (`requires_access_dag`, asking the Simple auth manager) runs for real; the
unauthenticated case keeps `get_user` as it is. The real API server is in tests/e2e/test_web.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
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

from bcsync.store import CouplingStore, Direction
from bcsync.web import EXTERNAL_VIEWS, URL_PREFIX, runs
from bcsync.web.app import create_app
from bcsync_dev.local_runs import ROOT

TO, FROM = Direction.TO_CRM, Direction.FROM_CRM
CURRENCY_RUN = "manual__2026-03-01T08:00:00+00:00"
CUSTOMER_RUNS = ("scheduled__2026-03-01T08:30:00+00:00", "scheduled__2026-03-01T09:00:00+00:00")
CHF_ERROR = (
    "Cannot create or update the currency CHF in Dynamics 365 Sales, because there is no exchange "
    "rate defined for it."
)
SALESPERSON_ERROR = "Salesperson/Purchaser HR must be coupled to a record in Dynamics 365 Sales."
SCRIPT_ERROR = 'Post Code <script>alert("x")</script> & "Co" does not exist.'


@dataclass(frozen=True)
class Filled:
    url: str
    store: CouplingStore
    chf: str  # BC SystemId of the currency CHF (failed, never coupled)
    bc: list[str]  # CUSTOMER: 0 and 1 skipped (the same error twice), 2 synced To, failed From
    crm: list[str]


@pytest.fixture
def filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Filled]:
    """A CURRENCY run in which CHF failed, and two CUSTOMER runs that skipped two customers; the store
    is the one the Airflow Connection `bcsync_store` names, as in Airflow."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STORE", url)
    monkeypatch.delenv("BCSYNC_MAPPINGS_DIR", raising=False)
    clock = Clock()
    store = CouplingStore(url, clock=clock)

    chf = "0000c4f0-0000-4000-8000-00000000000b"
    job = store.start_job("CURRENCY", TO, run_id=CURRENCY_RUN, job_type="manual")
    store.add_record_errors(
        [
            {
                "mapping": "CURRENCY",
                "direction": TO,
                "bc_id": chf,
                "bc_number": "CHF",
                "name": "Swiss franc",
                "message": CHF_ERROR,
                "job_id": job,
                "run_id": CURRENCY_RUN,
                "task_id": "load_crm",
                "try_number": 1,
            }
        ]
    )
    store.finish_job(job, {"Inserted": 3, "Unchanged": 3, "Failed": 1}, message="1 record(s) failed")
    clock.advance(30)

    bc, crm = coupled_customers(store, 3)
    for run_id in CUSTOMER_RUNS:
        to_job = store.start_job("CUSTOMER", TO, run_id=run_id)
        store.record_sync_results(
            "CUSTOMER",
            TO,
            [
                *({"bc_id": bc[i], "result": "Failure", "message": SALESPERSON_ERROR} for i in (0, 1)),
                {"bc_id": bc[2], "result": "Success", "bc_modified_on": clock.now},
            ],
            job_id=to_job,
        )
        store.add_record_errors(
            [
                customer_error(
                    TO,
                    to_job,
                    run_id,
                    "load_crm",
                    SALESPERSON_ERROR,
                    try_number=2,
                    bc_id=bc[i],
                    crm_id=crm[i],
                )
                for i in (0, 1)
            ]
        )
        store.finish_job(to_job, {"Unchanged": 1, "Failed": 2})
        clock.advance(30)
    from_job = store.start_job("CUSTOMER", FROM, run_id=CUSTOMER_RUNS[1])
    store.add_record_errors(
        [
            customer_error(
                FROM, from_job, CUSTOMER_RUNS[1], "load_bc", SCRIPT_ERROR, try_number=2, crm_id=crm[2]
            )
        ]
    )
    store.finish_job(from_job, {"Failed": 1})
    yield Filled(url, store, chf, bc, crm)
    store.dispose()


# ---- the app as Airflow mounts it, and who asks ----


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """A fresh app; the Simple auth manager (Airflow's default) answers the access checks."""
    monkeypatch.setattr(_AuthManagerState, "instance", SimpleAuthManager())
    return create_app()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    root = FastAPI()
    root.mount(URL_PREFIX, app)
    with TestClient(root, base_url="http://airflow.test") as client:
        yield client


def as_role(app: FastAPI, client: TestClient, role: str) -> TestClient:
    """Requests resolve to a user with this Simple auth manager role (viewer: read; user: edit DAGs)."""
    app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username=f"a {role}", role=role)
    return client


@pytest.fixture
def viewer(app: FastAPI, anonymous: TestClient) -> TestClient:
    return as_role(app, anonymous, "viewer")


@pytest.fixture
def editor(app: FastAPI, anonymous: TestClient) -> TestClient:
    return as_role(app, anonymous, "user")


# ---- reading the HTML back ----


class Page(HTMLParser):
    """The parts of a page the tests look at: table rows (cell text and links), forms, notices."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[list[str | None]] = []
        self.forms: list[dict[str, Any]] = []
        self.notices: list[str] = []
        self._cell: list[str] | None = None
        self._in: list[str] = []
        self._text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr":
            self.rows.append([])
            self.links.append([])
        elif tag in ("td", "th"):
            self._cell = []
            self.links[-1].append(None)
        elif tag == "a" and self._cell is not None:
            self.links[-1][-1] = attributes.get("href")
        elif tag == "form":
            self.forms.append(
                {"method": attributes.get("method"), "action": attributes.get("action"), "fields": []}
            )
        elif tag == "input" and self.forms:
            self.forms[-1]["fields"].append((attributes.get("name"), attributes.get("value")))
        elif tag == "div" and "notice" in (attributes.get("class") or ""):
            self._in.append("notice")
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "div" and self._in:
            self._in.pop()
            self.notices.append("".join(self._text))

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in:
            self._text.append(data)

    def table(self) -> list[dict[str, str]]:
        header, *rows = self.rows
        return [dict(zip(header, row, strict=True)) for row in rows]

    def table_links(self) -> list[dict[str, str | None]]:
        header = self.rows[0]
        return [dict(zip(header, links, strict=True)) for links in self.links[1:]]


# ---- authorization: Airflow's dependencies ----


def test_without_credentials_every_page_and_the_restore_answer_401(anonymous: TestClient, filled: Filled):
    for path in ("/bcsync/", "/bcsync/jobs", "/bcsync/errors?job=CURRENCY", "/bcsync/skipped?job=CUSTOMER"):
        response = anonymous.get(path, follow_redirects=False)
        assert (response.status_code, response.json()) == (401, {"detail": "Not authenticated"}), path
    response = anonymous.post("/bcsync/skipped/restore", data={"job": "CUSTOMER", "all": "1"})
    assert response.status_code == 401
    assert len(filled.store.skipped("CUSTOMER")) == 2
    # An invalid token is refused by Airflow's JWT check, not let through.
    response = anonymous.get("/bcsync/jobs", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code in (401, 403)


def test_a_viewer_reads_the_pages_but_may_not_restore(viewer: TestClient, filled: Filled):
    assert viewer.get("/bcsync/errors").status_code == 200
    response = viewer.post("/bcsync/skipped/restore", data={"job": "CUSTOMER", "all": "1"})
    assert (response.status_code, response.json()) == (403, {"detail": "Forbidden"})
    assert len(filled.store.skipped("CUSTOMER")) == 2


def test_a_user_without_a_role_may_not_read(app: FastAPI, anonymous: TestClient, filled: Filled):
    client = as_role(app, anonymous, "")
    assert client.get("/bcsync/jobs").status_code == 403


# ---- Integration Synch. Errors ----


def test_the_errors_page_shows_the_failed_currency_with_its_ids_and_links_to_the_task(
    viewer: TestClient, filled: Filled
):
    response = viewer.get("/bcsync/errors", params={"job": "currency"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = Page(response.text)
    [row] = page.table()
    assert row["Job"] == "CURRENCY"
    assert row["Direction"] == "ToIntegrationTable"
    assert (row["BC No."], row["Name"], row["BC ID"], row["Dataverse ID"]) == (
        "CHF",
        "Swiss franc",
        filled.chf,
        "",
    )
    assert row["Message"] == CHF_ERROR
    assert row["Time (UTC)"] == "2026-03-01 08:00:00"
    assert (row["Run ID"], row["Task"], row["Try"]) == (CURRENCY_RUN, "load_crm", "1")
    [links] = page.table_links()
    run = "../dags/bcsync_currency/runs/manual__2026-03-01T08%3A00%3A00%2B00%3A00"
    assert links["Run ID"] == run
    assert links["Task"] == links["Try"] == f"{run}/tasks/load_crm?try_number=1"
    assert links["Job"] == "../dags/bcsync_currency"
    # Relative links resolve from the app's root, wherever Airflow is served.
    assert '<base href="/bcsync/">' in response.text


def test_messages_are_escaped(viewer: TestClient, filled: Filled):
    response = viewer.get("/bcsync/errors", params={"job": "CUSTOMER", "direction": "From"})

    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Co&quot;" in response.text
    [row] = Page(response.text).table()
    assert row["Message"] == SCRIPT_ERROR  # what the operator reads is the message as it was
    assert (row["Dataverse ID"], row["BC ID"], row["Task"], row["Try"]) == (filled.crm[2], "", "load_bc", "2")


def test_errors_as_json_by_query_or_accept_header(viewer: TestClient, filled: Filled):
    by_query = viewer.get("/bcsync/errors", params={"job": "CURRENCY", "format": "json"})
    by_header = viewer.get("/bcsync/errors?job=CURRENCY", headers={"Accept": "application/json"})

    assert by_query.headers["content-type"] == "application/json"
    assert by_query.json() == by_header.json()
    body = by_query.json()
    assert (body["job"], body["direction"]) == ("CURRENCY", None)
    [error] = body["errors"]
    assert {k: error[k] for k in ("job", "direction", "bc_id", "bc_number", "name", "crm_id", "message")} == {
        "job": "CURRENCY",
        "direction": "ToIntegrationTable",
        "bc_id": filled.chf,
        "bc_number": "CHF",
        "name": "Swiss franc",
        "crm_id": None,
        "message": CHF_ERROR,
    }
    assert (error["dag_id"], error["run_id"], error["task_id"], error["try_number"]) == (
        "bcsync_currency",
        CURRENCY_RUN,
        "load_crm",
        1,
    )
    assert error["logged_on"] == "2026-03-01T08:00:00+00:00"


def test_errors_filter_by_direction(viewer: TestClient, filled: Filled):
    everything = viewer.get("/bcsync/errors?format=json").json()["errors"]
    to_crm = viewer.get("/bcsync/errors?format=json&job=CUSTOMER&direction=To").json()["errors"]

    # CHF; customers 0 and 1 (their second run's error supersedes the first's); customer 2 From
    assert len(everything) == 1 + 2 + 1
    assert {(e["job"], e["direction"]) for e in to_crm} == {("CUSTOMER", "ToIntegrationTable")}
    assert {e["bc_id"] for e in to_crm} == set(filled.bc[:2])


# ---- Integration Synch. Job List ----


def test_the_job_log_shows_each_job_with_bcs_counters(viewer: TestClient, filled: Filled):
    response = viewer.get("/bcsync/jobs")

    rows = Page(response.text).table()
    assert [(r["Job"], r["Direction"], r["Run ID"]) for r in rows] == [
        ("CUSTOMER", "FromIntegrationTable", CUSTOMER_RUNS[1]),
        ("CUSTOMER", "ToIntegrationTable", CUSTOMER_RUNS[1]),
        ("CUSTOMER", "ToIntegrationTable", CUSTOMER_RUNS[0]),
        ("CURRENCY", "ToIntegrationTable", CURRENCY_RUN),
    ]
    currency = rows[-1]
    assert {k: currency[k] for k in ("Inserted", "Modified", "Unchanged", "Skipped", "Failed")} == {
        "Inserted": "3",
        "Modified": "0",
        "Unchanged": "3",
        "Skipped": "0",
        "Failed": "1",
    }
    assert currency["Message"] == "1 record(s) failed"
    assert Page(response.text).table_links()[-1]["Run ID"] == (
        "../dags/bcsync_currency/runs/manual__2026-03-01T08%3A00%3A00%2B00%3A00"
    )


def test_the_job_log_as_json_for_one_job_and_a_limit(viewer: TestClient, filled: Filled):
    body = viewer.get("/bcsync/jobs", params={"job": "customer", "limit": 2, "format": "json"}).json()

    assert (body["job"], body["limit"]) == ("CUSTOMER", 2)
    assert [(j["direction"], j["failed"], j["dag_id"]) for j in body["jobs"]] == [
        ("FromIntegrationTable", 1, "bcsync_customer"),
        ("ToIntegrationTable", 2, "bcsync_customer"),
    ]


# ---- CRM Skipped Records and Restore ----


def test_the_skipped_page_lists_the_skipped_records_with_restore_buttons(viewer: TestClient, filled: Filled):
    page = Page(viewer.get("/bcsync/skipped?job=CUSTOMER").text)

    rows = page.table()
    assert [(r["BC ID"], r["Dataverse ID"], r["Skipped by"], r["Last error"]) for r in rows] == [
        (filled.bc[0], filled.crm[0], "To", SALESPERSON_ERROR),
        (filled.bc[1], filled.crm[1], "To", SALESPERSON_ERROR),
    ]
    restores = [f for f in page.forms if f["method"] == "post" and f["action"] == "skipped/restore"]
    assert [f["fields"] for f in restores] == [[("job", "CUSTOMER"), ("all", "1")]]
    # Per record, BC's actions as runs: restore, synchronize now, delete coupling, delete coupled record.
    actions = [f for f in page.forms if f["method"] == "post" and f["action"].startswith("actions/")]
    back = ("back", "skipped?job=CUSTOMER")
    assert [(f["action"], f["fields"]) for f in actions] == [
        (action, [("job", "CUSTOMER"), ("records", bc_id), back, *options])
        for bc_id in filled.bc[:2]
        for action, options in (
            ("actions/restore", []),
            ("actions/synchronize_now", []),
            ("actions/delete_coupling", []),
            ("actions/delete_coupled_record", [("side", "crm")]),
        )
    ]


def test_restore_clears_the_skipped_flag_and_redirects_back_with_bcs_message(
    editor: TestClient, filled: Filled
):
    response = editor.post(
        "/bcsync/skipped/restore",
        data={"job": "customer", "bc_id": filled.bc[0].upper()},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/bcsync/skipped?job=CUSTOMER&restored=1"
    assert set(filled.store.skipped("CUSTOMER")["bc_id"]) == {filled.bc[1]}

    page = Page(editor.get(response.headers["location"]).text)
    assert page.notices == ["The record has been restored for synchronization."]
    assert [r["BC ID"] for r in page.table()] == [filled.bc[1]]


def test_restore_all(editor: TestClient, filled: Filled):
    response = editor.post("/bcsync/skipped/restore", data={"job": "CUSTOMER", "all": "1"})

    assert response.status_code == 200  # followed to the skipped records
    page = Page(response.text)
    assert page.notices == ["2 records have been restored for synchronization."]
    assert "No skipped records for CUSTOMER." in response.text
    assert filled.store.skipped("CUSTOMER").empty


def test_restore_as_json_names_what_it_could_not_restore(editor: TestClient, filled: Filled):
    response = editor.post(
        "/bcsync/skipped/restore?format=json",
        data={"job": "CUSTOMER", "bc_id": [filled.bc[1], filled.bc[2]]},
    )

    assert response.json() == {
        "job": "CUSTOMER",
        "restored": 1,
        "message": "The record has been restored for synchronization.",
        "not_coupled": [],
        "not_skipped": [f"BC id {filled.bc[2]}"],
    }
    redirected = editor.post("/bcsync/skipped/restore", data={"job": "CUSTOMER", "bc_id": filled.bc[2]})
    assert Page(redirected.text).notices == [
        "No records have been restored for synchronization.",
        "1 of the chosen records were not skipped (any more) and were left as they are.",
    ]


# ---- what the operator typed, and a missing store ----


def test_an_unknown_job_is_a_400_page_naming_the_known_jobs(viewer: TestClient, filled: Filled):
    for path in ("/bcsync/jobs?job=NOPE", "/bcsync/errors?job=NOPE", "/bcsync/skipped?job=NOPE"):
        response = viewer.get(path)
        assert response.status_code == 400, path
        assert response.headers["content-type"].startswith("text/html")
        assert "unknown job &#x27;NOPE&#x27;; known jobs: CURRENCY, SALESPEOPLE, CUSTOMER" in response.text
    as_json = viewer.get("/bcsync/errors?job=NOPE&format=json")
    assert as_json.status_code == 400
    assert as_json.json()["error"].startswith("unknown job 'NOPE'")


def test_bad_input_is_a_400(viewer: TestClient, editor: TestClient, filled: Filled):
    assert viewer.get("/bcsync/errors?direction=sideways").status_code == 400
    bad_limit = viewer.get("/bcsync/jobs?limit=0&format=json")
    assert bad_limit.status_code == 400
    assert bad_limit.json()["error"].startswith("Invalid request: limit:")
    assert editor.post("/bcsync/skipped/restore", data={"bc_id": filled.bc[0]}).status_code == 400
    assert editor.post("/bcsync/skipped/restore", data={"job": "CUSTOMER"}).status_code == 400
    not_a_guid = editor.post("/bcsync/skipped/restore", data={"job": "CUSTOMER", "bc_id": "C00010"})
    assert not_a_guid.status_code == 400
    assert "bc_id: not a GUID: &#x27;C00010&#x27;" in not_a_guid.text
    assert len(filled.store.skipped("CUSTOMER")) == 2


def test_without_a_job_the_skipped_page_asks_for_one(viewer: TestClient, filled: Filled):
    response = viewer.get("/bcsync/skipped")

    assert response.status_code == 200
    assert "Skipped records are kept per job: choose one." in response.text
    assert viewer.get("/bcsync/skipped?format=json").status_code == 400


def test_a_store_that_is_not_there_is_a_503(
    viewer: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    missing = tmp_path / "nowhere" / "store.db"
    monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STORE", f"sqlite:///{missing}")

    response = viewer.get("/bcsync/jobs")

    assert response.status_code == 503
    assert f"The coupling store is not available: no coupling store at {missing}" in response.text
    assert not missing.exists()  # not created empty
    assert viewer.get("/bcsync/errors?format=json").json()["status"] == 503


def test_the_index_redirects_to_the_job_log(viewer: TestClient, filled: Filled):
    response = viewer.get("/bcsync/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (307, "/bcsync/jobs")


# ---- registration with Airflow ----


def test_the_plugin_registers_the_app_and_five_browse_views_that_airflow_accepts():
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse, FastAPIAppResponse
    from bcsync_plugin import BcsyncPlugin

    plugin = BcsyncPlugin()
    [entry] = plugin.fastapi_apps
    assert (entry["url_prefix"], entry["name"]) == ("/bcsync", "bcsync")
    assert isinstance(entry["app"], FastAPI)
    assert plugin.fastapi_apps[0]["app"] is entry["app"]  # built once
    FastAPIAppResponse(**{**entry, "app": "fastapi.applications.FastAPI"})
    views = [ExternalViewResponse(**view) for view in plugin.external_views]
    assert [(v.name, v.href, v.url_route, v.category, v.destination) for v in views] == [
        ("Integration Table Mappings", "bcsync/mappings", "bcsync-mappings", "browse", "nav"),
        ("Couplings", "bcsync/couplings", "bcsync-couplings", "browse", "nav"),
        ("Integration Synch. Job List", "bcsync/jobs", "bcsync-jobs", "browse", "nav"),
        ("Integration Synch. Errors", "bcsync/errors", "bcsync-errors", "browse", "nav"),
        ("CRM Skipped Records", "bcsync/skipped", "bcsync-skipped", "browse", "nav"),
    ]
    assert plugin.external_views == [dict(view) for view in EXTERNAL_VIEWS]


PROBE = """
import json, sys
import bcsync_plugin
print(json.dumps(sorted(m for m in ("fastapi", "starlette", "pandas", "bcsync.store", "bcsync.web.app",
                                    "airflow.api_fastapi.core_api.security") if m in sys.modules)))
"""


def test_importing_the_plugin_builds_no_app():
    # Airflow imports the plugin in every component; only the API server asks for `fastapi_apps`.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "include")])}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


# ---- Integration Table Mappings, the actions, the errors' filters, the trend ----
# Which DAGs Airflow has is Airflow's metadata database, not there in this tier: `runs.airflow_dags` is
# given the answer. Starting the runs and what they do is tested in the real API server
# (tests/e2e/test_web_browser.py).


@pytest.fixture
def customer_dag_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow has the CUSTOMER job's DAG (paused) and no other."""
    monkeypatch.setattr(runs, "airflow_dags", lambda dag_ids: {"bcsync_customer": True})


def test_the_mappings_page_shows_each_mappings_settings_fields_and_latest_jobs(
    viewer: TestClient, filled: Filled, customer_dag_only: None
):
    response = viewer.get("/bcsync/mappings")

    assert response.status_code == 200
    text = response.text
    assert "<h1>Integration Table Mappings</h1>" in text
    for fact in (
        "Synch. only coupled records",
        "Update conflict resolution",
        "Integration table filter (Sales)",
    ):
        assert fact in text
    page = Page(text)
    # CUSTOMER's field mappings, as `bcsync mappings` lists them.
    assert any(row[:2] == ["addressLine2", "Address 2"] and row[3] == "address1_line2" for row in page.rows)
    # The list's actions only for the job whose DAG Airflow has.
    posts = [f for f in page.forms if f["action"] == "mappings/synchronize"]
    assert [f["fields"] for f in posts] == [
        [("job", "CUSTOMER"), ("kind", "full")],
        [("job", "CUSTOMER"), ("kind", "modified")],
    ]
    assert 'id="CURRENCY"' in text and "no DAG in Airflow" in text


def test_the_mappings_page_as_json(viewer: TestClient, filled: Filled, customer_dag_only: None):
    body = viewer.get("/bcsync/mappings?format=json").json()

    by_name = {m["name"]: m for m in body["mappings"]}
    customer, currency = by_name["CUSTOMER"], by_name["CURRENCY"]
    assert (customer["dag_in_airflow"], customer["dag_paused"]) == (True, True)
    assert (currency["dag_in_airflow"], currency["dag_paused"]) == (False, None)
    assert [j["failed"] for j in currency["recent_jobs"]] == [1]
    assert customer["direction"] == "Bidirectional" and customer["fields"]


def test_a_job_without_a_dag_in_airflow_cannot_be_started(
    editor: TestClient, filled: Filled, customer_dag_only: None
):
    response = editor.post("/bcsync/mappings/synchronize", data={"job": "currency", "kind": "full"})

    assert response.status_code == 400
    assert "CURRENCY has no DAG in Airflow (bcsync_currency)" in response.text


def test_a_bad_action_request_is_a_400_with_the_catalogs_message(editor: TestClient, filled: Filled):
    cases = {
        ("couple", "CUSTOMER", ""): "Select at least one record",
        ("couple", "CUSTOMER", "C00010"): "Couple needs counterpart.",
        ("teleport", "CUSTOMER", "C00010"): "Unknown action &#x27;teleport&#x27;; actions: couple",
        ("uncouple", "NOSUCHJOB", "C00010"): "There is no job &#x27;NOSUCHJOB&#x27;; jobs:",
    }
    for (action, job, record), message in cases.items():
        response = editor.post(f"/bcsync/actions/{action}", data={"job": job, "records": [record]})
        assert response.status_code == 400, (action, response.text)
        assert message in response.text, (action, response.text)


def test_a_viewer_may_not_start_an_action(viewer: TestClient, filled: Filled):
    response = viewer.post("/bcsync/actions/uncouple", data={"job": "CUSTOMER", "records": ["C00010"]})

    assert (response.status_code, response.json()) == (403, {"detail": "Forbidden"})


def test_the_errors_page_filters_by_status_and_age(viewer: TestClient, filled: Filled):
    def messages(**params: str) -> list[str]:
        body = viewer.get("/bcsync/errors", params={"format": "json", "job": "CURRENCY", **params}).json()
        return [f"{e['status']}: {e['message']}" for e in body["errors"]]

    assert messages() == [f"Open: {CHF_ERROR}"]
    assert messages(status="closed") == []
    assert messages(status="all") == [f"Open: {CHF_ERROR}"]
    assert messages(days="") == [f"Open: {CHF_ERROR}"]  # the form's blank: any age
    assert messages(days="0.0000001") == []  # logged (by the fixture's clock) long before that
    assert viewer.get("/bcsync/errors", params={"status": "gone"}).status_code == 400
    assert viewer.get("/bcsync/errors", params={"days": "-1"}).status_code == 400


def test_the_errors_page_puts_the_message_next_to_the_bc_number_and_name(viewer: TestClient, filled: Filled):
    page = Page(viewer.get("/bcsync/errors", params={"job": "CURRENCY"}).text)

    header = page.rows[0]
    assert header[:7] == ["Time (UTC)", "Job", "Direction", "BC No.", "Name", "Message", "Status"]
    [row] = page.table()
    assert (row["BC No."], row["Name"], row["Message"], row["Status"]) == (
        "CHF",
        "Swiss franc",
        CHF_ERROR,
        "Open",
    )


def test_the_job_log_draws_the_counters_trend(viewer: TestClient, filled: Filled):
    text = viewer.get("/bcsync/jobs").text

    assert '<svg class="trend"' in text
    assert text.count('<rect class="inserted"') == 1  # only CURRENCY's job inserted anything
    assert text.count('<rect class="failed"') == 4  # CURRENCY's job, CUSTOMER's two To jobs and its From job


def test_a_running_load_shows_its_progress_on_the_job_log(viewer: TestClient, filled: Filled):
    job = filled.store.start_job("CONTACT", TO, run_id="manual__2026-03-01T10:00:00+00:00")
    filled.store.report_progress(job, 2000, 5000)

    text = viewer.get("/bcsync/jobs?job=CONTACT").text

    assert '<progress value="2000" max="5000"></progress>' in text
    assert "2,000 of 5,000" in text
    # A finished job's page has no progress column.
    assert "<th>Progress</th>" not in viewer.get("/bcsync/jobs?job=CURRENCY").text
