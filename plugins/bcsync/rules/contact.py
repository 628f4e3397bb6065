"""Contact: a person contact's Sales parent account follows its BC company, and back."""

from __future__ import annotations

import pandas as pd

from bcsync.engine.model import SOURCE_ID, SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, table_rule


@table_rule("Contact", SyncPass.TO_CRM)
def parent_account_to_sales(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """A Sales contact's parent account is the coupled account of its BC company's customer.

    BC links a person contact to its company contact ("Company No."), and the company contact to the
    customer through a contact business relation; the customer's coupling gives the account.
    """
    companies = dict(
        zip(source[SOURCE_ID], source.get("companyNumber", pd.Series(dtype=object)), strict=False)
    )
    account_of_company = _company_accounts(services)
    for index in plan.index[plan["action"].isin(WRITES)]:
        company = companies.get(plan.at[index, SOURCE_ID])
        account = account_of_company.get(str(company or "").upper())
        if account is None:
            plan.at[index, "action"] = "fail"
            plan.at[index, "error"] = (
                f"The contact cannot be synchronized because its company {company or '(none)'} is not a "
                "customer coupled to an account in Dynamics 365 Sales."
            )
            continue
        plan.at[index, "payload"] = {**(plan.at[index, "payload"] or {}), "parentcustomerid": account}
    return plan


@table_rule("Contact", SyncPass.FROM_CRM)
def company_to_bc(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """A BC contact's company is the company contact of the customer coupled to its parent account."""
    parents = dict(
        zip(source[SOURCE_ID], source.get("parentcustomerid", pd.Series(dtype=object)), strict=False)
    )
    company_of_account = {account: company for company, account in _company_accounts(services).items()}
    for index in plan.index[plan["action"].isin(WRITES)]:
        parent = str(parents.get(plan.at[index, SOURCE_ID]) or "").lower()
        company = company_of_account.get(parent)
        if company is None:
            plan.at[index, "action"] = "fail"
            plan.at[index, "error"] = "The contact cannot be synchronized because the company does not exist."
            continue
        plan.at[index, "payload"] = {**(plan.at[index, "payload"] or {}), "companyNumber": company}
    return plan


def _company_accounts(services: Services) -> dict[str, str]:
    """BC company contact No. → the Sales account coupled to the customer it is related to."""
    couplings = services.store.couplings("CUSTOMER")
    if couplings.empty:
        return {}
    account_of_customer = dict(zip(couplings["bc_id"], couplings["crm_id"], strict=True))
    number_to_id = {
        str(row["number"]).upper(): str(row["id"]).lower()
        for page in services.bc.iter_pages("customers", select=["id", "number"])
        for row in page
    }
    relations = services.bc.iter_pages(
        "contactBusinessRelations",
        select=["contactNo", "no"],
        filter="linkToTable eq 'Customer'",
        api="custom",
    )
    out = {}
    for page in relations:
        for row in page:
            account = account_of_customer.get(number_to_id.get(str(row["no"]).upper(), ""))
            if account:
                out[str(row["contactNo"]).upper()] = account
    return out
