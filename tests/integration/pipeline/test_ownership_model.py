"""BC's ownership model through the real path: under Team, customers sync without salespeople and the
Sales owner is not driven by BC (default-mappings.md §2.1, §4 item 3)."""

from __future__ import annotations

from bcsync.pipeline.context import RunKind
from bcsync.registry.ownership import ENV_OWNERSHIP_MODEL

TO_CRM = "ToIntegrationTable"


def under_team_ownership(harness) -> None:
    """The deployment's ownership model is Team from now on (every component's environment)."""
    harness.monkeypatch.setenv(ENV_OWNERSHIP_MODEL, "Team")
    harness.services.__dict__.pop("registry", None)


def test_under_team_ownership_customers_need_no_coupled_salesperson(harness):
    under_team_ownership(harness)
    harness.run("CURRENCY", RunKind.FULL)  # no SALESPEOPLE job to run first
    summary = harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)

    assert harness.counters(summary, TO_CRM)["Inserted"] > 0
    messages = set(harness.store.open_errors("CUSTOMER")["message"])
    assert not any(m.startswith("Salesperson/Purchaser ") for m in messages)
    # Nothing in BC chose the owner of the accounts created: Dataverse gave them to the calling user.
    couplings = harness.store.couplings("CUSTOMER")
    created = couplings.loc[couplings["coupled_by"] == "create", "crm_id"].head(5)
    owners = {harness.crm.get("accounts", i, select=["_ownerid_value"])["_ownerid_value"] for i in created}
    assert owners == {harness.crm.whoami()["UserId"]}


def test_under_team_ownership_a_salesperson_change_leaves_the_sales_owner_alone(harness):
    under_team_ownership(harness)
    harness.run("CURRENCY", RunKind.FULL)
    harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    pair = harness.store.couplings("CUSTOMER").query("coupled_by == 'match'").iloc[0]
    owner = harness.crm.get("accounts", pair["crm_id"], select=["_ownerid_value"])["_ownerid_value"]
    other = next(
        r["code"]
        for page in harness.bc.iter_pages("salespeoplePurchasers", select=["code"])
        for r in page
        if r["code"]
        != harness.bc.get("customers", pair["bc_id"], select=["salespersonCode"])["salespersonCode"]
    )
    harness.bc_edit("customers", pair["bc_id"], {"salespersonCode": other, "phoneNumber": "+1 425 555 0133"})

    summary = harness.run("CUSTOMER", direction=TO_CRM)
    assert harness.counters(summary, TO_CRM)["Modified"] == 1
    account = harness.crm.get("accounts", pair["crm_id"], select=["_ownerid_value", "telephone1"])
    assert (account["_ownerid_value"], account["telephone1"]) == (owner, "+1 425 555 0133")
