"""Text longer than the destination field is truncated to the field's length, as BC does, not refused:
the lengths come from the destination's own metadata (BC's `$metadata`, Dataverse's EntityDefinitions)."""

from __future__ import annotations

import uuid

from bcsync.engine.model import SyncPass
from bcsync.pipeline.context import RunKind
from bcsync.pipeline.transform import destination_lengths

TO_CRM, FROM_CRM = "ToIntegrationTable", "FromIntegrationTable"
BC_NAME_LENGTH = 100  # Customer."Name", Text[100]; a Sales account name takes 160


def long_name(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex}".ljust(160, "x")


def full_sync_dependencies(harness) -> None:
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)


def created_pair(harness) -> dict:
    """A pair the full synchronization created BC → Sales (its lookups are known to resolve)."""
    couplings = harness.store.couplings("CUSTOMER")
    healthy = couplings[
        ~couplings["skipped"]
        & (couplings["coupled_by"] == "create")
        & (couplings["to_crm_result"] == "Success")
    ]
    return healthy.sort_values("bc_id").iloc[0]


def test_a_sales_account_name_longer_than_bcs_is_truncated_on_modify(harness):
    full_sync_dependencies(harness)
    harness.run("CUSTOMER", RunKind.FULL)
    pair = created_pair(harness)
    name = long_name("Modified")
    harness.sales_user_edit("account", pair["crm_id"], {"name": name})

    summary = harness.run("CUSTOMER")
    assert harness.counters(summary, FROM_CRM)["Modified"] == 1
    assert harness.counters(summary, FROM_CRM)["Failed"] == 0
    customer = harness.bc.get("customers", pair["bc_id"], select=["displayName"])
    assert customer["displayName"] == name[:BC_NAME_LENGTH]
    again = harness.run("CUSTOMER")  # the truncated value is what BC has: nothing left to write
    assert harness.counters(again, FROM_CRM)["Failed"] == harness.counters(again, TO_CRM)["Failed"] == 0


def test_a_new_sales_account_with_a_long_name_becomes_a_customer_with_the_name_truncated(harness):
    full_sync_dependencies(harness)
    name = long_name("Inserted")
    account = str(harness.crm.create("accounts", {"name": name, "customertypecode": 3})).lower()

    summary = harness.run("CUSTOMER", RunKind.FULL, direction=FROM_CRM)
    assert harness.counters(summary, FROM_CRM)["Inserted"] >= 1
    couplings = harness.store.couplings("CUSTOMER")
    coupled = couplings.loc[couplings["crm_id"] == account]
    assert len(coupled) == 1 and coupled["from_crm_result"].item() == "Success"
    customer = harness.bc.get("customers", coupled["bc_id"].item(), select=["displayName"])
    assert customer["displayName"] == name[:BC_NAME_LENGTH]
    assert account not in set(harness.store.open_errors("CUSTOMER").get("crm_id", []))


def test_each_pass_truncates_to_its_destinations_own_lengths(harness):
    customer = harness.services.registry.get("CUSTOMER")
    to_bc = destination_lengths(customer, SyncPass.FROM_CRM, harness.services)
    to_sales = destination_lengths(customer, SyncPass.TO_CRM, harness.services)
    assert (to_bc["displayName"], to_bc["city"], to_bc["phoneNumber"]) == (100, 30, 30)  # BC's $metadata
    assert (to_sales["name"], to_sales["address1_city"]) == (160, 80)  # Dataverse's EntityDefinitions
    # BC → Sales truncates too: a currency code (Code[10]) into Sales' ISO currency code (5).
    currency = harness.services.registry.get("CURRENCY")
    assert destination_lengths(currency, SyncPass.TO_CRM, harness.services)["isocurrencycode"] == 5
