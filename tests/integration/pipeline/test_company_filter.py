"""BC's multi-company filter through the real path (default-mappings.md §2.2, §2.4): a company reads the
Sales rows of its own `bcbi_company` row and those of no company, and stamps the rows it writes.

The seed has a second BC company, CRONUS Canada, with an account for "School of Fine Art" (a customer
of the sandbox company that Sales does not know yet: same name, city and e-mail) and contacts of the
same people as one of the sandbox company's BC-only customers.
"""

from __future__ import annotations

import uuid

import pandas as pd

from bcsync.pipeline.context import RunKind
from bcsync.wire import odata

TO_CRM = "ToIntegrationTable"
ACCOUNT_COLUMNS = ["accountid", "name", "address1_city", "telephone1", "modifiedon", "_bcbi_companyid_value"]
CONTACT_COLUMNS = ["contactid", "emailaddress1", "modifiedon", "_bcbi_companyid_value"]


def companies(harness) -> tuple[str, str]:
    """(this BC company's bcbi_company id, the other company's)."""
    rows = [
        r
        for page in harness.crm.iter_pages("bcbi_companies", select=["bcbi_companyid", "bcbi_externalid"])
        for r in page
    ]
    ours = harness.bc.company_id.lower()
    [this] = [r["bcbi_companyid"] for r in rows if r["bcbi_externalid"] == ours]
    [other] = [r["bcbi_companyid"] for r in rows if r["bcbi_externalid"] != ours]
    return this, other


def rows_of(harness, entity_set: str, columns: list[str], company: str | None) -> pd.DataFrame:
    where = odata.eq("_bcbi_companyid_value", uuid.UUID(company) if company else None)
    rows = [r for page in harness.crm.iter_pages(entity_set, select=columns, filter=where) for r in page]
    return pd.DataFrame(rows, columns=[*columns, "@odata.etag"]).drop(columns="@odata.etag")


def customer_named(harness, name: str) -> dict:
    return next(
        r
        for page in harness.bc.iter_pages(
            "customers", select=["id", "displayName"], filter=odata.eq("displayName", name)
        )
        for r in page
    )


def full_sync(harness, *jobs: str) -> None:
    for job in ("SALESPEOPLE", "CURRENCY", *jobs):
        harness.run(job, RunKind.FULL)


def test_another_companys_accounts_are_neither_read_nor_coupled_nor_overwritten(harness):
    this, other = companies(harness)
    theirs = rows_of(harness, "accounts", ACCOUNT_COLUMNS, other)
    assert "School of Fine Art" in set(theirs["name"])

    full_sync(harness, "CUSTOMER")

    couplings = harness.store.couplings("CUSTOMER")
    assert not set(couplings["crm_id"]) & set(theirs["accountid"])  # not matched, not created in BC
    after = rows_of(harness, "accounts", ACCOUNT_COLUMNS, other)
    pd.testing.assert_frame_equal(after.sort_values("accountid"), theirs.sort_values("accountid"))
    # The sandbox company's School of Fine Art got an account of its own, which carries its company.
    school = customer_named(harness, "School of Fine Art")
    [account_id] = couplings.loc[couplings["bc_id"] == school["id"], "crm_id"]
    account = harness.crm.get("accounts", account_id, select=["name", "_bcbi_companyid_value"])
    assert (account["name"], account["_bcbi_companyid_value"]) == ("School of Fine Art", this)
    in_bc = [
        r["displayName"] for page in harness.bc.iter_pages("customers", select=["displayName"]) for r in page
    ]
    assert in_bc.count("School of Fine Art") == 1  # the other company's account was not brought to BC


def test_rows_written_to_sales_carry_this_companys_id(harness):
    this, _ = companies(harness)
    full_sync(harness)
    harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)
    couplings = harness.store.couplings("CUSTOMER")
    created_in_sales = couplings.loc[couplings["coupled_by"] == "create", "crm_id"].tolist()
    stamped = set(rows_of(harness, "accounts", ["accountid"], this)["accountid"])
    assert created_in_sales and set(created_in_sales) <= stamped
    # An account matched by name had no company; the first change BC sends stamps it, as BC's modify does.
    matched = couplings.loc[couplings["coupled_by"] == "match"].iloc[0]
    assert (
        harness.crm.get("accounts", matched["crm_id"], select=["_bcbi_companyid_value"])[
            "_bcbi_companyid_value"
        ]
        is None
    )
    harness.bc_edit("customers", matched["bc_id"], {"phoneNumber": "+1 425 555 0166"})
    assert harness.counters(harness.run("CUSTOMER", direction=TO_CRM), TO_CRM)["Modified"] == 1
    account = harness.crm.get("accounts", matched["crm_id"], select=["telephone1", "_bcbi_companyid_value"])
    assert (account["telephone1"], account["_bcbi_companyid_value"]) == ("+1 425 555 0166", this)


def test_another_companys_contacts_are_left_alone_and_ours_are_created(harness):
    this, other = companies(harness)
    theirs = rows_of(harness, "contacts", CONTACT_COLUMNS, other)
    assert len(theirs)

    full_sync(harness, "CUSTOMER", "CONTACT")

    couplings = harness.store.couplings("CONTACT")
    assert not set(couplings["crm_id"]) & set(theirs["contactid"])
    after = rows_of(harness, "contacts", CONTACT_COLUMNS, other)
    pd.testing.assert_frame_equal(after.sort_values("contactid"), theirs.sort_values("contactid"))
    ours = rows_of(harness, "contacts", CONTACT_COLUMNS, this)
    assert set(theirs["emailaddress1"]) <= set(ours["emailaddress1"])  # the same people, ours created anew


def test_without_this_companys_row_the_company_filter_is_off(harness):
    this, other = companies(harness)
    harness.crm.delete("bcbi_companies", this)  # BC: "when a CDS company record exists"
    theirs = rows_of(harness, "accounts", ["accountid", "name"], other)

    full_sync(harness, "CUSTOMER")

    couplings = harness.store.couplings("CUSTOMER")
    school = customer_named(harness, "School of Fine Art")
    [account_id] = couplings.loc[couplings["bc_id"] == school["id"], "crm_id"]
    assert account_id in set(theirs["accountid"])  # unfiltered, matching finds the other company's account
    created = couplings.loc[couplings["coupled_by"] == "create", "crm_id"].head(5)
    assert all(
        harness.crm.get("accounts", i, select=["_bcbi_companyid_value"])["_bcbi_companyid_value"] is None
        for i in created
    )
