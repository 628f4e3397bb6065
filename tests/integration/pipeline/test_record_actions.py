"""BC's manual record actions through the real path: the action's own store and service writes, and the
job's real extract/plan/load steps for what they synchronize or create (spec §3.3, §6)."""

from __future__ import annotations

import itertools
from typing import Any

from bcsync.actions.catalog import action_request
from bcsync.actions.dispatch import run_action
from bcsync.pipeline.context import RunContext, RunKind
from tests.integration.pipeline.test_sync_semantics import (
    FROM_CRM,
    TO_CRM,
    coupled_pair,
    fully_synced_pair,
)
from tests.sandbox_data import bc_insert

_runs = itertools.count(1)


def act(harness, action: str, job: str, records: list[str], **options: Any) -> dict[str, Any]:
    """Trigger `action` as the UI and the CLI do (its DAG's conf), and run its task's body."""
    dag_id, conf = action_request(action, job, records, **options)
    mapping = harness.services.registry.get(job)
    run = RunContext(dag_id=dag_id, run_id=f"test_action_{next(_runs)}", kind=RunKind.SCHEDULED)
    chosen = {k: v for k, v in conf.items() if k not in ("job", "records")}
    result = run_action(action, mapping, run, harness.services, conf["records"], chosen, harness.staging)
    return result.summary()


def counters(summary: dict[str, Any], direction: str = TO_CRM) -> dict[str, int]:
    return {k: v for k, v in summary["directions"].get(direction, {}).items() if k != "status"}


def bc_number(harness, bc_id: str) -> str:
    return harness.bc.get("customers", bc_id, select=["number"])["number"]


def account(harness, crm_id: str, *fields: str) -> dict[str, Any]:
    return harness.crm.get("accounts", crm_id, select=list(fields) or ["name"])


def new_account(harness, name: str, **values: Any) -> str:
    """An account entered in Sales, of relationship type Customer (the mapping's filter)."""
    return harness.crm.create("accounts", {"name": name, "customertypecode": 3, **values})


def new_customer(harness, name: str) -> dict[str, Any]:
    """A customer entered in BC after the initial load, with the salesperson of a synchronized one."""
    salesperson = harness.bc.get("customers", coupled_pair(harness)["bc_id"], select=["salespersonCode"])
    values = {"number": f"C9{next(_runs):04d}", "displayName": name, "city": "Oslo"}
    return bc_insert(
        harness.sandbox, "customer", {**values, "salespersonCode": salesperson["salespersonCode"]}
    )


def test_uncouple_by_bc_number_removes_the_coupling_and_resets_the_sales_company(harness):
    pair = fully_synced_pair(harness)
    number = bc_number(harness, pair["bc_id"])
    assert account(harness, pair["crm_id"], "_bcbi_companyid_value")["_bcbi_companyid_value"]

    summary = act(harness, "uncouple", "CUSTOMER", [number])

    assert counters(summary) == {**counters(summary), "Uncoupled": 1, "Modified": 1, "Failed": 0}
    assert pair["bc_id"] not in set(harness.store.couplings("CUSTOMER")["bc_id"])
    assert account(harness, pair["crm_id"], "_bcbi_companyid_value")["_bcbi_companyid_value"] is None
    job = harness.store.jobs("CUSTOMER", limit=1).iloc[0]
    assert (job["type"], job["uncoupled"], job["modified"]) == ("uncoupling", 1, 1)


def test_uncoupling_a_customer_also_uncouples_the_contacts_of_its_account(harness):
    fully_synced_pair(harness)
    harness.run("CONTACT", RunKind.FULL)
    contacts = harness.store.couplings("CONTACT")
    parents = {
        c["contactid"]: c["_parentcustomerid_value"]
        for page in harness.crm.iter_pages("contacts", select=["contactid", "_parentcustomerid_value"])
        for c in page
    }
    customers = harness.store.couplings("CUSTOMER").set_index("crm_id")
    with_contacts = [parents[c] for c in contacts["crm_id"] if parents.get(c) in customers.index]
    account_id = with_contacts[0]
    children = {c for c, parent in parents.items() if parent == account_id} & set(contacts["crm_id"])

    summary = act(harness, "uncouple", "CUSTOMER", [account_id])

    assert counters(summary)["Uncoupled"] == 1
    assert f"Also uncoupled {len(children)} CONTACT record(s) of these accounts." in summary["message"]
    assert not children & set(harness.store.couplings("CONTACT")["crm_id"])
    assert len(harness.store.couplings("CONTACT")) == len(contacts) - len(children)


def test_couple_to_another_account_and_synchronize_after_writes_bc_to_sales(harness):
    pair = fully_synced_pair(harness)
    number = bc_number(harness, pair["bc_id"])
    fresh = new_account(harness, "Fresh Account Ltd")
    act(harness, "uncouple", "CUSTOMER", [number])

    summary = act(
        harness,
        "couple",
        "CUSTOMER",
        [number],
        counterpart="Fresh Account Ltd",
        synchronize_after=True,
        direction=TO_CRM,
    )

    assert counters(summary)["Coupled"] == 1 and counters(summary)["Modified"] == 1
    coupling = harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).iloc[0]
    assert (coupling["crm_id"], coupling["coupled_by"]) == (fresh, "manual")
    customer = harness.bc.get("customers", pair["bc_id"], select=["displayName"])
    assert account(harness, fresh)["name"] == customer["displayName"]


def test_couple_without_synchronizing_changes_neither_side_now_or_in_the_next_run(harness):
    pair = fully_synced_pair(harness)
    number = bc_number(harness, pair["bc_id"])
    fresh = new_account(harness, "Left Alone Inc")
    act(harness, "uncouple", "CUSTOMER", [number])

    summary = act(harness, "couple", "CUSTOMER", [number], counterpart=fresh)
    assert counters(summary)["Coupled"] == 1 and counters(summary)["Modified"] == 0

    after = harness.run("CUSTOMER")
    assert harness.counters(after, TO_CRM)["Modified"] == 0
    assert account(harness, fresh)["name"] == "Left Alone Inc"


def test_couple_to_an_account_coupled_to_another_customer_fails_with_bcs_message(harness):
    pair = fully_synced_pair(harness)
    other = harness.store.couplings("CUSTOMER").query("bc_id != @pair.bc_id").iloc[0]
    summary = act(
        harness, "couple", "CUSTOMER", [bc_number(harness, pair["bc_id"])], counterpart=other["crm_id"]
    )

    assert counters(summary)["Failed"] == 1 and counters(summary)["Coupled"] == 0
    error = harness.store.open_errors("CUSTOMER").iloc[-1]
    assert "is already coupled to another Customer record" in error["message"]
    assert error["bc_id"] == pair["bc_id"] and error["crm_id"] == other["crm_id"]
    assert harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).iloc[0]["crm_id"] == pair["crm_id"]


def test_match_based_coupling_couples_the_selected_customer_back_to_its_account(harness):
    pair = fully_synced_pair(harness)
    number = bc_number(harness, pair["bc_id"])
    act(harness, "delete_coupling", "CUSTOMER", [number])

    summary = act(harness, "match_couple", "CUSTOMER", [number])

    assert counters(summary)["Coupled"] == 1
    coupling = harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).iloc[0]
    assert (coupling["crm_id"], coupling["coupled_by"]) == (pair["crm_id"], "match")
    assert harness.store.jobs("CUSTOMER", limit=1).iloc[0]["type"] == "coupling"


def test_match_based_coupling_without_a_match_fails_or_creates_when_asked(harness):
    fully_synced_pair(harness)
    lonely = new_customer(harness, "Nobody Matches Me AS")

    failed = act(harness, "match_couple", "CUSTOMER", [lonely["number"]])
    assert counters(failed)["Failed"] == 1
    assert (
        "no unique uncoupled matching entity was found"
        in harness.store.open_errors("CUSTOMER").iloc[-1]["message"]
    )

    created = act(harness, "match_couple", "CUSTOMER", [lonely["number"]], create_new_if_no_match=True)
    assert counters(created)["Inserted"] == 1
    coupling = harness.store.couplings_for("CUSTOMER", bc_ids=[lonely["id"]]).iloc[0]
    assert account(harness, coupling["crm_id"])["name"] == "Nobody Matches Me AS"
    assert (
        harness.store.open_errors("CUSTOMER").query("bc_id == @lonely['id']").empty
    )  # closed by the success


def test_create_new_in_sales_creates_and_couples_and_skips_what_is_coupled(harness):
    pair = fully_synced_pair(harness)
    customer = new_customer(harness, "Brand New Customer AB")

    summary = act(harness, "create_new", "CUSTOMER", [customer["number"], bc_number(harness, pair["bc_id"])])

    assert counters(summary)["Inserted"] == 1 and counters(summary)["Skipped"] == 1
    coupling = harness.store.couplings_for("CUSTOMER", bc_ids=[customer["id"]]).iloc[0]
    assert account(harness, coupling["crm_id"])["name"] == "Brand New Customer AB"
    assert "already coupled" in summary["message"]


def test_create_new_in_bc_from_a_sales_account(harness):
    fully_synced_pair(harness)
    crm_id = new_account(harness, "From Sales Oy", address1_city="Espoo")

    summary = act(harness, "create_new", "CUSTOMER", ["From Sales Oy"], side="crm")

    assert counters(summary, FROM_CRM)["Inserted"] == 1
    coupling = harness.store.couplings_for("CUSTOMER", crm_ids=[crm_id]).iloc[0]
    assert (
        harness.bc.get("customers", coupling["bc_id"], select=["displayName"])["displayName"]
        == "From Sales Oy"
    )


def test_delete_coupled_record_deletes_the_sales_account_and_the_coupling(harness):
    pair = fully_synced_pair(harness)
    summary = act(
        harness, "delete_coupled_record", "CUSTOMER", [bc_number(harness, pair["bc_id"])], side="crm"
    )

    assert counters(summary)["Deleted"] == 1 and counters(summary)["Uncoupled"] == 1
    assert pair["crm_id"] not in {
        a["accountid"] for p in harness.crm.iter_pages("accounts", select=["accountid"]) for a in p
    }
    assert harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).empty


def skip_a_customer_whose_account_was_deleted(harness):
    pair = fully_synced_pair(harness)
    harness.crm.delete("accounts", pair["crm_id"])
    for phone in ("+1 425 555 0101", "+1 425 555 0102"):
        harness.bc_edit("customers", pair["bc_id"], {"phoneNumber": phone})
        harness.run("CUSTOMER")
    assert pair["bc_id"] in set(harness.store.skipped("CUSTOMER")["bc_id"])
    return pair


def test_restore_of_a_skipped_customer_whose_account_was_deleted_creates_the_account_again(harness):
    pair = skip_a_customer_whose_account_was_deleted(harness)

    summary = act(harness, "restore", "CUSTOMER", [bc_number(harness, pair["bc_id"])])

    assert counters(summary)["Inserted"] == 1
    coupling = harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).iloc[0]
    assert coupling["crm_id"] != pair["crm_id"] and not coupling["skipped"]
    customer = harness.bc.get("customers", pair["bc_id"], select=["displayName"])
    assert account(harness, coupling["crm_id"])["name"] == customer["displayName"]
    assert "The record has been restored for synchronization." in summary["message"]


def test_a_skipped_coupling_whose_two_records_are_deleted_is_removed_by_the_next_run(harness):
    fully_synced_pair(harness)
    # A customer without ledger entries (BC refuses to delete one that has them), created in Sales.
    customer = new_customer(harness, "Short Lived Customer AB")
    act(harness, "create_new", "CUSTOMER", [customer["number"]])
    pair = harness.store.couplings_for("CUSTOMER", bc_ids=[customer["id"]]).iloc[0]
    harness.crm.delete("accounts", pair["crm_id"])
    for phone in ("+1 425 555 0103", "+1 425 555 0104"):
        harness.bc_edit("customers", pair["bc_id"], {"phoneNumber": phone})
        harness.run("CUSTOMER")
    assert pair["bc_id"] in set(harness.store.skipped("CUSTOMER")["bc_id"])
    harness.bc.delete("customers", pair["bc_id"], etag="*")

    harness.run("CUSTOMER")

    assert pair["bc_id"] not in set(harness.store.skipped("CUSTOMER")["bc_id"])
    assert harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).empty


def test_synchronize_now_by_number_clears_the_skip_and_forces_the_chosen_direction(harness):
    pair = fully_synced_pair(harness)
    harness.bc_edit("customers", pair["bc_id"], {"city": "Boston"})
    harness.sales_user_edit("account", pair["crm_id"], {"address1_city": "Chicago"})
    harness.run("CUSTOMER")
    harness.run("CUSTOMER")  # the same conflict twice: skipped
    assert pair["bc_id"] in set(harness.store.skipped("CUSTOMER")["bc_id"])

    number = bc_number(harness, pair["bc_id"])
    summary = harness.run("CUSTOMER", RunKind.RECORDS, record_ids=(number,), direction=TO_CRM)

    assert harness.counters(summary, TO_CRM)["Modified"] == 1
    assert account(harness, pair["crm_id"], "address1_city")["address1_city"] == "Boston"
    assert pair["bc_id"] not in set(harness.store.skipped("CUSTOMER")["bc_id"])
    assert harness.store.open_errors("CUSTOMER", TO_CRM).query("bc_id == @pair.bc_id").empty


def test_synchronize_now_fails_an_unknown_or_ambiguous_name_alone(harness):
    pair = fully_synced_pair(harness)
    harness.sales_user_edit("account", pair["crm_id"], {"telephone1": "999"})
    twice = [new_account(harness, "Twin Name GmbH") for _ in range(2)]
    number = bc_number(harness, pair["bc_id"])

    summary = harness.run(
        "CUSTOMER", RunKind.RECORDS, record_ids=(number, "C99999", "Twin Name GmbH"), direction=TO_CRM
    )

    assert (
        harness.counters(summary, TO_CRM)["Modified"] == 1
        and harness.counters(summary, TO_CRM)["Failed"] == 2
    )
    errors = harness.store.open_errors("CUSTOMER")
    messages = dict(zip(errors["name"], errors["message"], strict=True))
    assert messages["C99999"] == "No Business Central Customer or Sales account record is known as 'C99999'."
    assert messages["Twin Name GmbH"].startswith("'Twin Name GmbH' is ambiguous: 2 Sales account records")
    assert len(twice) == 2


def test_an_error_closes_when_the_record_syncs_and_a_new_failure_supersedes_the_old(harness):
    pair = fully_synced_pair(harness)
    harness.bc_edit("customers", pair["bc_id"], {"city": "Boston"})
    harness.sales_user_edit("account", pair["crm_id"], {"address1_city": "Chicago"})
    harness.run("CUSTOMER")
    harness.run("CUSTOMER")  # fails again: one open error for the record, the newest
    mine = harness.store.open_errors("CUSTOMER", TO_CRM).query("bc_id == @pair.bc_id")
    assert len(mine) == 1
    assert mine.iloc[0]["bc_number"] == bc_number(harness, pair["bc_id"])
    assert (
        mine.iloc[0]["name"]
        == harness.bc.get("customers", pair["bc_id"], select=["displayName"])["displayName"]
    )

    harness.run("CUSTOMER", RunKind.RECORDS, record_ids=(pair["bc_id"],), direction=TO_CRM)
    assert harness.store.open_errors("CUSTOMER", TO_CRM).query("bc_id == @pair.bc_id").empty


def test_delete_entries_older_than_keeps_what_skipped_couplings_reference(harness):
    pair = skip_a_customer_whose_account_was_deleted(harness)
    harness.run("CURRENCY")
    assert len(harness.store.jobs(limit=1000)) > 2

    errors, jobs, kept = harness.store.delete_entries_older_than(0)

    skipped = harness.store.couplings_for("CUSTOMER", bc_ids=[pair["bc_id"]]).iloc[0]
    left = harness.store.jobs(limit=1000)
    assert set(left["job_id"]) == {skipped["to_crm_job_id"]}
    assert jobs > 0 and kept >= 1
    assert set(harness.store.open_errors()["job_id"]) <= {skipped["to_crm_job_id"]}
    assert errors >= 0


def test_a_long_load_logs_and_keeps_its_progress_in_the_job_row(harness, monkeypatch, caplog):
    import bcsync.pipeline.apply as apply_step

    seen: list[str | None] = []  # the job row's message as the job log page reads it before each part
    real_writer = apply_step.write_crm

    def writer_then_read_the_job_row(mapping, sync_pass, writes, services, job_id, **options):
        row = services.store.jobs(mapping.name, limit=10).set_index("job_id").loc[job_id]
        seen.append(None if row["message"] != row["message"] else row["message"])
        return real_writer(mapping, sync_pass, writes, services, job_id, **options)

    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)
    monkeypatch.setattr(apply_step, "PROGRESS_EVERY", 4)
    monkeypatch.setattr(apply_step, "write_crm", writer_then_read_the_job_row)
    with caplog.at_level("INFO", logger="bcsync.pipeline.apply"):
        summary = harness.run("CUSTOMER", RunKind.FULL)

    inserted = harness.counters(summary, TO_CRM)["Inserted"]
    lines = [r.getMessage() for r in caplog.records if "written" in r.getMessage()]
    assert f"CUSTOMER ToIntegrationTable: written 4 of {inserted}" in lines
    assert f"CUSTOMER ToIntegrationTable: written {inserted} of {inserted}" in lines
    assert seen == [None] + [f"written {n} of {inserted}" for n in range(4, inserted, 4)]
