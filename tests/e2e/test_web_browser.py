"""An admin's day in the real Airflow UI, in a real browser: Playwright driving Debian's Chromium at
1440×900 against the stack `make airflow` starts (api-server, scheduler, dag-processor).

Through bcsync's pages inside Airflow (iframes of Airflow's React UI): run the full synchronizations
from the Integration Table Mappings page, find a customer by its BC number, uncouple it, couple it to
another account, synchronize it now, follow the run link to Airflow's run page (in the top window, not
a second Airflow inside the frame) and read the run's note, restore a skipped customer whose account
a user deleted in Sales and see the account re-created, and delete old job log entries. What the
services and the store hold afterwards is checked through the sandbox and the store, and each action's
DAG run through Airflow's REST API.

Runs last in the e2e tier (the module's name sorts after the others): it runs full synchronizations
of the stack's jobs. Skips, saying so, only when Chromium is not installed (`make test` installs it with
apt-get when it can). BCSYNC_UI_SCREENSHOTS=<folder> saves a 1440×900 screenshot of each page there
(how docs/images/ui-*.png are made).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from e2e_stack import AirflowStack, record_timing, wait_for_dags
from sandbox_data import bc_rows, bc_update, dataverse_get, dataverse_rows, sandbox_cli

from bcsync.store import CouplingStore, Direction

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}
JOBS = ("SALESPEOPLE", "CURRENCY", "CUSTOMER")  # full synchronizations, in dependency order
ACTION_DAGS = ("bcsync_couple", "bcsync_uncouple", "bcsync_restore")
RUN_TIMEOUT = 240.0
UI_TIMEOUT_MS = 60_000
STARTED = re.compile(r"started: run (?P<run_id>\S+) of (?P<dag_id>\S+)\.")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's Chromium is not installed ({CHROMIUM}): `apt-get install chromium` "
            "(`make test` installs it with apt-get when it can)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the pages' "Delete …?" confirmations
    yield page
    context.close()


@pytest.fixture(scope="module")
def store(airflow_stack: AirflowStack) -> Iterator[CouplingStore]:
    store = CouplingStore(airflow_stack.store_url)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def synchronized(airflow_stack: AirflowStack, page: Any) -> dict[str, str]:
    """Every job's full synchronization, started with the mappings page's button; the runs' states."""
    api = airflow_stack.api
    wait_for_dags(api, ACTION_DAGS, timeout=120)
    states = {}
    for job in JOBS:
        api.unpause(f"bcsync_{job.lower()}")
    for job in ("CUSTOMER", "CONTACT"):  # actions run these jobs' DAGs (synchronize now, after coupling)
        api.unpause(f"bcsync_{job.lower()}")
    for dag_id in ACTION_DAGS:
        api.unpause(dag_id)
    open_view(page, airflow_stack, "mappings")
    for job in JOBS:
        card = frame(page).locator(f"section#{job}")
        run = start(page, airflow_stack, card.get_by_role("button", name="Run Full Synchronization"))
        assert run["dag_id"] == f"bcsync_{job.lower()}"
        states[job] = run["state"]
    screenshot(page, "mappings")
    return states


# ---- the scenario ----


def test_the_mappings_page_starts_each_jobs_full_synchronization(
    airflow_stack: AirflowStack, page: Any, synchronized: dict[str, str], store: CouplingStore
):
    # CURRENCY fails on CHF (no exchange rate in the seed), so CUSTOMER's currency lookups may fail too;
    # every run finished, and the job log has each job's entry.
    assert set(synchronized) == set(JOBS)
    assert synchronized["SALESPEOPLE"] == "success"
    assert {j["mapping"] for j in store.jobs(limit=100).to_dict("records")} >= set(JOBS)

    open_view(page, airflow_stack, "jobs")
    trend = frame(page).locator("svg.trend")
    assert trend.count() == 1
    assert frame(page).locator("table tbody tr").count() >= len(JOBS)
    screenshot(page, "jobs")


def test_find_uncouple_couple_and_synchronize_a_customer_then_read_the_runs_note(
    airflow_stack: AirflowStack, page: Any, synchronized: dict[str, str], store: CouplingStore
):
    api = airflow_stack.api
    couplings = store.couplings("CUSTOMER")
    # A coupled customer that BC synchronizes to Sales without trouble (some seed customers fail: no
    # salesperson, a currency without an exchange rate).
    synced = set(couplings.loc[couplings["to_crm_result"] == "Success", "bc_id"])
    customers = sorted(bc_rows(airflow_stack.sandbox, "customer"), key=lambda c: c["number"])
    customer = next(c for c in customers if c["id"] in synced)
    number, bc_id = customer["number"], customer["id"]

    # Find it by its BC number.
    search(page, airflow_stack, "CUSTOMER", number)
    row = frame(page).locator("table.couplings tbody tr", has_text=number)
    assert row.count() == 1
    assert customer["displayName"] in row.inner_text()
    screenshot(page, "couplings")

    # Uncouple: a run of bcsync_uncouple; the coupling is gone.
    run = start(page, airflow_stack, row.get_by_role("button", name="Uncouple"))
    assert (run["dag_id"], run["state"]) == ("bcsync_uncouple", "success"), run
    assert bc_id not in set(store.couplings("CUSTOMER")["bc_id"])

    # Couple it to another account, created for it in Sales, and synchronize after coupling.
    other = f"Browser test account {uuid.uuid4().hex[:6]}"
    # (a customer account: the CUSTOMER job's integration table filter is active customers)
    created = sandbox_cli(
        airflow_stack.sandbox, "edit", "dataverse", "account", "new", f"name={other}", "customertypecode=3"
    )
    assert created.returncode == 0, created.stderr
    account_id = next(
        a["accountid"] for a in dataverse_rows(airflow_stack.sandbox, "account") if a["name"] == other
    )
    search(page, airflow_stack, "CUSTOMER", number)
    row = frame(page).locator("table.couplings tbody tr", has_text=number)
    row.get_by_placeholder("Sales account, name or id").fill(other)
    run = start(page, airflow_stack, row.get_by_role("button", name="Couple"))
    assert run["dag_id"] == "bcsync_couple", run
    coupled = store.couplings_for("CUSTOMER", bc_ids=[bc_id])
    assert list(coupled["crm_id"]) == [account_id]
    # Synchronized after coupling (BC to Sales by default): the account now carries the customer's name.
    account = dataverse_get(airflow_stack.sandbox, "account", account_id)
    assert account["name"] == customer["displayName"], api.run_note("bcsync_couple", run["run_id"])

    # Synchronize now: a forced run of the job's own DAG for this record, after a change in BC.
    bc_update(airflow_stack.sandbox, "customer", bc_id, {"phoneNumber": "+1 555 0100"})
    search(page, airflow_stack, "CUSTOMER", number)
    row = frame(page).locator("table.couplings tbody tr", has_text=number)
    run = start(page, airflow_stack, row.get_by_role("button", name="Synchronize now"))
    assert run["dag_id"] == "bcsync_customer", run
    assert dataverse_get(airflow_stack.sandbox, "account", account_id)["telephone1"] == "+1 555 0100"

    # The notice's run link opens Airflow's run page in the top window, with the run's note.
    frame(page).locator(".notice a").click()
    run_path = f"/dags/bcsync_customer/runs/{quote(run['run_id'], safe='')}"
    page.wait_for_url(re.compile(f".*{re.escape(run_path)}.*"), wait_until="commit")  # Airflow's router
    page.locator("iframe").wait_for(state="detached")  # Airflow's own page, not a second Airflow in the frame
    note = api.run_note("bcsync_customer", run["run_id"])
    assert "ToIntegrationTable: Inserted" in (note or ""), note
    page.get_by_text(f"Synchronize Now: CUSTOMER {bc_id}").first.wait_for()  # the note, as Airflow shows it
    screenshot(page, "run-note")


def test_restoring_a_skipped_customer_whose_account_was_deleted_recreates_the_account(
    airflow_stack: AirflowStack, page: Any, synchronized: dict[str, str], store: CouplingStore
):
    api = airflow_stack.api
    couplings = store.couplings("CUSTOMER")
    # A customer BC synchronizes to Sales without trouble (some seed customers lack a salesperson).
    synced = couplings[~couplings["skipped"].astype(bool) & (couplings["to_crm_result"] == "Success")]
    coupled = synced.sort_values("bc_id").iloc[-1]
    bc_id, old_account = coupled["bc_id"], coupled["crm_id"]
    customer = next(c for c in bc_rows(airflow_stack.sandbox, "customer") if c["id"] == bc_id)

    # A user deletes the account in Sales; the customer's synchronization then fails twice with the
    # same error, and BC skips it (two identical failures in a row).
    deleted = sandbox_cli(airflow_stack.sandbox, "delete", "dataverse", "account", old_account)
    assert deleted.returncode == 0, deleted.stderr
    for attempt in range(2):
        job = store.start_job("CUSTOMER", Direction.TO_CRM, run_id=f"browser_test_skip_{attempt}")
        store.record_sync_results(
            "CUSTOMER",
            Direction.TO_CRM,
            [{"bc_id": bc_id, "result": "Failure", "message": "The coupled account does not exist."}],
            job_id=job,
        )
        store.finish_job(job, {"Failed": 1})
    assert bc_id in set(store.skipped("CUSTOMER")["bc_id"])

    open_view(page, airflow_stack, "skipped")
    frame(page).get_by_label("Job").select_option("CUSTOMER")
    submit(page, frame(page).get_by_role("button", name="Show"))
    row = frame(page).locator("table tbody tr", has_text=bc_id)
    screenshot(page, "skipped")
    # Restore: a run that restores the coupling and creates the deleted account again.
    run = start(page, airflow_stack, row.get_by_role("button", name="Restore"))
    assert run["dag_id"] == "bcsync_restore", run
    assert bc_id not in set(store.skipped("CUSTOMER")["bc_id"])
    [new_account] = store.couplings_for("CUSTOMER", bc_ids=[bc_id])["crm_id"]
    assert new_account != old_account
    assert dataverse_get(airflow_stack.sandbox, "account", new_account)["name"] == customer["displayName"]
    assert api.get_run("bcsync_restore", run["run_id"])["state"] == "success"


def test_deleting_old_entries_keeps_what_skipped_records_refer_to(
    airflow_stack: AirflowStack, page: Any, synchronized: dict[str, str], store: CouplingStore
):
    errors_before = len(store.errors("CURRENCY", resolved=None))
    assert errors_before, "the CURRENCY run's CHF error"

    open_view(page, airflow_stack, "errors")
    frame(page).get_by_label("Job").first.select_option("CURRENCY")
    # Open or closed: an earlier test of the session may have given CHF its rate, closing the error.
    frame(page).get_by_label("Status").first.select_option("all")
    submit(page, frame(page).get_by_role("button", name="Show"))
    frame(page).locator("table tbody tr", has_text="CHF").first.wait_for()
    screenshot(page, "errors")
    form = frame(page).locator("form", has_text="Delete entries older than")
    form.locator("input[name=days]").fill("0")
    form.get_by_role("button", name="Delete entries").click()
    notice = frame(page).locator(".notice", has_text="Deleted")
    notice.wait_for()
    assert re.search(r"Deleted [1-9]\d* error\(s\)", notice.inner_text()), notice.inner_text()
    assert store.errors("CURRENCY", resolved=None).empty
    assert store.jobs("CURRENCY").empty


def test_the_pages_follow_airflows_dark_and_light_mode(airflow_stack: AirflowStack, browser: Any):
    """Airflow's colours, copied from its UI into the frame, in the mode the user chose and after a switch."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script("try { localStorage.setItem('theme', 'dark'); } catch (e) {}")  # next-themes
    page = context.new_page()
    try:
        open_view(page, airflow_stack, "jobs")
        inner = page.locator("iframe").first.element_handle().content_frame()
        airflow_bg = (
            "getComputedStyle(document.documentElement).getPropertyValue('--chakra-colors-bg').trim()"
        )
        page_bg = "getComputedStyle(document.body).getPropertyValue('background-color')"
        assert page.evaluate("document.documentElement.className") == "dark"
        assert inner.evaluate("document.documentElement.dataset.airflowTheme") == "dark"
        dark = inner.evaluate(page_bg)
        assert inner.evaluate(airflow_bg) == page.evaluate(airflow_bg)  # Airflow's own token, copied
        screenshot(page, "jobs-dark")

        page.evaluate("document.documentElement.classList.replace('dark', 'light')")  # the mode switch
        page.wait_for_function(
            "f => f.contentDocument.documentElement.dataset.airflowTheme === 'light'",
            arg=page.locator("iframe").first.element_handle(),
        )
        assert inner.evaluate(page_bg) != dark
        assert inner.evaluate(airflow_bg) == page.evaluate(airflow_bg)
    finally:
        context.close()


# ---- helpers ----


def open_view(page: Any, stack: AirflowStack, view: str) -> None:
    """A bcsync page as Airflow shows it: Browse → <page>, inside Airflow's UI."""
    started = time.monotonic()
    page.goto(f"{stack.api.base_url}/plugin/bcsync-{view}")
    frame(page).locator("h1").wait_for()
    record_timing(f"browser: open {view}", time.monotonic() - started)


def frame(page: Any) -> Any:
    return page.frame_locator("iframe").first


def submit(page: Any, button: Any) -> None:
    """Click a button that loads another page in the frame, and wait for that page."""
    bcsync = page.locator("iframe").first.element_handle().content_frame()  # the page's, not Airflow's
    with bcsync.expect_navigation():
        button.click()
    frame(page).locator("h1").wait_for()


def search(page: Any, stack: AirflowStack, job: str, text: str) -> None:
    open_view(page, stack, "couplings")
    frame(page).get_by_label("Job").select_option(job)
    frame(page).get_by_label("Find a record").fill(text)
    submit(page, frame(page).get_by_role("button", name="Show"))


def start(page: Any, stack: AirflowStack, button: Any) -> dict[str, Any]:
    """Click an action's button; the run it started (named in the page's notice), once finished."""
    notices = frame(page).locator(".notice", has_text="started: run")
    before = notices.first.inner_text() if notices.count() else ""
    button.click()
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    text = before
    while text in ("", before):  # the page after the action (Post/Redirect/Get) names the new run
        assert time.monotonic() < deadline, "no notice of a started run"
        page.wait_for_timeout(200)
        text = notices.first.inner_text() if notices.count() else ""
    found = STARTED.search(text)
    assert found, text
    started = time.monotonic()
    run = stack.api.wait_for_run(found["dag_id"], found["run_id"], timeout=RUN_TIMEOUT)
    record_timing(f"browser: {found['dag_id']} run → {run['state']}", time.monotonic() - started)
    return {**run, "dag_id": found["dag_id"], "run_id": found["run_id"]}


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("BCSYNC_UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"ui-{name}.png"))
