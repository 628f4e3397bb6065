"""Where the default jobs used to differ from BC (issue 12), each through the real path: the local
services, the coupling store and every step of the job."""

from __future__ import annotations

from test_sync_semantics import TO_CRM, fully_synced_pair


def account_owner(harness, account_id: str) -> str:
    return harness.crm.get("accounts", account_id, select=["_ownerid_value"])["_ownerid_value"]


def test_blank_salesperson_code_leaves_the_accounts_owner_as_it_is(harness):
    # BC's "Not Null" on Salesperson Code → ownerid: a blank code gives a null owner, which is not
    # transferred; the rest of the customer is synchronized.
    pair = fully_synced_pair(harness)
    owner = account_owner(harness, pair["crm_id"])
    assert owner, "the account got the salesperson's Sales user as its owner"
    harness.bc_edit("customers", pair["bc_id"], {"salespersonCode": "", "phoneNumber": "+1 425 555 0190"})

    summary = harness.run("CUSTOMER")

    assert harness.counters(summary, TO_CRM)["Modified"] == 1
    assert harness.counters(summary, TO_CRM)["Failed"] == 0
    account = harness.crm.get("accounts", pair["crm_id"], select=["telephone1", "_ownerid_value"])
    assert account == {**account, "telephone1": "+1 425 555 0190", "_ownerid_value": owner}
    assert pair["bc_id"] not in set(harness.store.open_errors("CUSTOMER")["bc_id"])
