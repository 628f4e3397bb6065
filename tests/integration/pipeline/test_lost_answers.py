"""Writes to Business Central whose answer was lost (the sandbox commits, then drops the connection):
after the retry each record ends as if the first answer had arrived, and nothing exists twice."""

from __future__ import annotations

import uuid

import pytest

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunKind
from bcsync.wire.errors import OutcomeUnknown, RecordRejected

TO_CRM, FROM_CRM = "ToIntegrationTable", "FromIntegrationTable"
LOSE_THE_NEXT_BATCH_ANSWER = {
    "rules": [{"method": "POST", "path": r"\$batch", "fault": "drop_after_commit", "count": 1}]
}


def full_sync_dependencies(harness) -> None:
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)


def new_sales_account(harness, name: str, **fields) -> str:
    """An active customer account created in Sales; returns its id."""
    return str(harness.crm.create("accounts", {"name": name, "customertypecode": 3, **fields})).lower()


def bc_customer_of(harness, account_id: str) -> str:
    couplings = harness.store.couplings("CUSTOMER")
    return couplings.loc[couplings["crm_id"] == account_id, "bc_id"].item()


def all_bc_customer_ids(harness) -> set[str]:
    return {r["id"].lower() for page in harness.bc.iter_pages("customers", select=["id"]) for r in page}


def journalled_ids(harness, accounts: list[str]) -> list[str]:
    """The SystemIds bcsync chose and journalled for these accounts' BC customers."""
    pending = harness.store.list_pending("CUSTOMER", FROM_CRM).set_index("source_id")
    return [pending.loc[account, "destination_id"].lower() for account in accounts]


def lose_the_answer_of_the_first_create_batch(harness) -> None:
    """A full Sales → BC synchronization whose create batch BC commits but never answers."""
    harness.sandbox.admin("bc", "POST", "faults", json=LOSE_THE_NEXT_BATCH_ANSWER)
    with pytest.raises(OutcomeUnknown):
        harness.run("CUSTOMER", RunKind.FULL, direction=FROM_CRM)


def test_customer_found_by_its_chosen_id_after_a_lost_create_answer_gets_every_field(harness):
    """The create went to our API page with a SystemId bcsync chose (docs/bc-custom-api.md); the
    retry finds the customer by that id and writes what the lost answer would have led to: the
    standard page's fields (name, city) next to the custom page's (fax, contact) the create carried."""
    full_sync_dependencies(harness)
    name = f"Lost answer {uuid.uuid4().hex[:8]}"
    account = new_sales_account(
        harness, name, fax="+1 425 555 0199", address1_primarycontactname="Ada Example", address1_city="Oslo"
    )
    lose_the_answer_of_the_first_create_batch(harness)
    (chosen,) = journalled_ids(harness, [account])
    assert chosen in all_bc_customer_ids(harness), "BC committed the create, with the id bcsync chose"
    before_retry = all_bc_customer_ids(harness)

    result = harness.retry_load("CUSTOMER", Side.BC)

    assert result.failed == 0
    assert bc_customer_of(harness, account) == chosen
    assert all_bc_customer_ids(harness) == before_retry, "the retry created nothing"
    standard = harness.bc.get("customers", chosen, select=["displayName", "city"])
    custom = harness.bc.get("customers", chosen, select=["faxNo", "contact"], api="custom")
    assert (standard["displayName"], standard["city"]) == (name, "Oslo")
    assert (custom["faxNo"], custom["contact"]) == ("+1 425 555 0199", "Ada Example")
    assert harness.store.list_pending("CUSTOMER", FROM_CRM).empty
    after = harness.run("CUSTOMER", RunKind.FULL, direction=FROM_CRM)
    assert harness.counters(after, FROM_CRM)["Modified"] == 0, "nothing was left to repair"


def test_look_alike_accounts_each_keep_their_own_customer_after_a_lost_create_answer(harness):
    """Identity does not depend on content: two identical accounts have two chosen ids."""
    full_sync_dependencies(harness)
    name = f"Twin {uuid.uuid4().hex[:8]}"
    twins = [
        new_sales_account(harness, name, address1_city="Springfield", telephone1="+1 425 555 0123")
        for _ in range(2)
    ]
    lose_the_answer_of_the_first_create_batch(harness)
    chosen = journalled_ids(harness, twins)
    assert len(set(chosen)) == 2 and set(chosen) <= all_bc_customer_ids(harness), "both committed"
    created_in_first_try = all_bc_customer_ids(harness)

    result = harness.retry_load("CUSTOMER", Side.BC)

    assert result.failed == 0
    assert [bc_customer_of(harness, twin) for twin in twins] == chosen
    assert all_bc_customer_ids(harness) == created_in_first_try, "the retry created nothing"
    assert [harness.bc.get("customers", i, select=["displayName"])["displayName"] for i in chosen] == [
        name
    ] * 2
    couplings = harness.store.couplings("CUSTOMER")
    assert result.counters.inserted == (couplings["coupled_by"] == "create").sum()
    assert harness.store.list_pending("CUSTOMER", FROM_CRM).empty


def test_a_standard_page_refuses_a_chosen_id_and_our_page_keeps_it(harness):
    """As in BC: `id` is `Editable = false` on the standard pages; our page inserts with it."""
    chosen = str(uuid.uuid4())
    with pytest.raises(RecordRejected, match="read-only"):
        harness.bc.create("customers", {"id": chosen, "displayName": "Refused"})
    created = harness.bc.create("customers", {"id": chosen, "name": "Kept"}, api="custom")
    assert created["id"].lower() == chosen
    assert harness.bc.get("customers", chosen, select=["displayName"])["displayName"] == "Kept"


def test_update_batch_whose_answer_was_lost_is_not_resent_with_stale_etags(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    couplings = harness.store.couplings("CUSTOMER")
    pairs = couplings[~couplings["skipped"] & (couplings["coupled_by"] == "create")]
    pairs = pairs.sort_values("crm_id").head(3)
    for index, pair in enumerate(pairs.itertuples()):
        harness.sales_user_edit("account", pair.crm_id, {"telephone1": f"+1 425 555 014{index}"})
    harness.sandbox.admin("bc", "POST", "faults", json=LOSE_THE_NEXT_BATCH_ANSWER)

    summary = harness.run("CUSTOMER")

    assert "dropped" in str(harness.sandbox.admin("bc", "GET", "stats")), "the answer was lost"
    counters = harness.counters(summary, FROM_CRM)
    assert (counters["Modified"], counters["Failed"]) == (len(pairs), 0)
    for index, pair in enumerate(pairs.itertuples()):
        phone = harness.bc.get("customers", pair.bc_id, select=["phoneNumber"])["phoneNumber"]
        assert phone == f"+1 425 555 014{index}"
    after = harness.run("CUSTOMER")
    for direction in (TO_CRM, FROM_CRM):
        counters = harness.counters(after, direction)
        assert counters["Modified"] == counters["Failed"] == counters.get("Skipped", 0) == 0, direction
