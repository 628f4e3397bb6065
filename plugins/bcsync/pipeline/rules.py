"""Table-specific rules that BC's integration code applies on top of the field mappings.

In BC these live in event subscribers (codeunits 5341 "CRM Int. Table. Subscriber" and 7205, and the
"CRM Synch. Helper" 5342) and in the integration config templates. Each rule here takes the planned
rows of one pass and completes or rejects their payloads; the field mappings stay pure data.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from decimal import Decimal

import pandas as pd

from bcsync.engine.model import SOURCE_ID, SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire.errors import RecordRejected

log = logging.getLogger(__name__)

# Lookups that rules (not field mappings) fill in, and the entity set they bind to.
RULE_LOOKUPS = {("CONTACT", "parentcustomerid"): "accounts"}

Rule = Callable[[IntegrationTableMapping, pd.DataFrame, pd.DataFrame, Services], pd.DataFrame]
WRITES = ("insert", "modify")


def apply_table_rules(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    plan: pd.DataFrame,
    source: pd.DataFrame,
    services: Services,
) -> pd.DataFrame:
    rule = RULES.get((mapping.name, sync_pass))
    if rule is None or plan.empty or not plan["action"].isin(WRITES).any():
        return plan
    return rule(mapping, plan, source, services)


def _customer_template(mapping, plan, source, services) -> pd.DataFrame:
    """Integration config template BCICUSTOME: accounts created from customers are of type Customer."""
    for index in plan.index[plan["action"] == "insert"]:
        plan.at[index, "payload"] = {"customertypecode": 3, **(plan.at[index, "payload"] or {})}
    return plan


def _currency_rates(mapping, plan, source, services) -> pd.DataFrame:
    """CRM Synch. Helper: a currency needs its exchange rate (and, when created, its precision)."""
    rates = _exchange_rates(services)
    codes = dict(zip(source[SOURCE_ID], source["code"], strict=True)) if "code" in source.columns else {}
    decimals = _decimal_places(source)
    for index in plan.index[plan["action"].isin(WRITES)]:
        code = str(codes.get(plan.at[index, SOURCE_ID], ""))
        rate = rates.get(code.upper())
        if rate is None:
            plan.at[index, "action"] = "fail"
            plan.at[index, "error"] = (
                f"Cannot create or update the currency {code} in Dynamics 365 Sales, because there is no "
                "exchange rate defined for it."
            )
            continue
        payload = dict(plan.at[index, "payload"] or {})
        payload["exchangerate"] = float(rate)
        if plan.at[index, "action"] == "insert":
            payload["currencyprecision"] = decimals.get(plan.at[index, SOURCE_ID], 2)
        plan.at[index, "payload"] = payload
    return plan


def _exchange_rates(services: Services) -> dict[str, Decimal]:
    """Units of each currency per one unit of LCY, from BC's latest exchange rate of each currency."""
    latest: dict[str, tuple[str, Decimal]] = {}
    pages = services.bc.iter_pages(
        "currencyExchangeRates",
        select=["currencyCode", "startingDate", "exchangeRateAmount", "relationalExchangeRateAmount"],
    )
    try:
        rows = [row for page in pages for row in page]
    except RecordRejected as rejection:
        log.warning("cannot read BC's currency exchange rates (%s): currencies cannot be sent", rejection)
        return {}
    for row in rows:
        amount = Decimal(str(row["exchangeRateAmount"]))
        relational = Decimal(str(row["relationalExchangeRateAmount"]))
        code, starting = str(row["currencyCode"]).upper(), str(row["startingDate"])
        if relational and (code not in latest or starting > latest[code][0]):
            latest[code] = (starting, amount / relational)
    return {code: rate for code, (_, rate) in latest.items()}


def _decimal_places(source: pd.DataFrame) -> dict[str, int]:
    """BC's "Amount Decimal Places" (e.g. "2:2", "0:0") → Dataverse currency precision (the maximum)."""
    if "amountDecimalPlaces" not in source.columns:
        return {}
    out = {}
    for source_id, text in zip(source[SOURCE_ID], source["amountDecimalPlaces"], strict=True):
        numbers = [int(n) for n in re.findall(r"\d+", str(text or ""))]
        out[source_id] = max(numbers) if numbers else 2
    return out


def _salesperson_codes(mapping, plan, source, services) -> pd.DataFrame:
    """New salespeople from Sales get the codes SP NO. 00001, SP NO. 00002, ... after the highest one."""
    highest = 0
    for page in services.bc.iter_pages(mapping.bc_endpoint.entity_set, select=["code"]):
        for row in page:
            match = re.fullmatch(r"SP NO\. 0*(\d+)", str(row.get("code") or ""))
            if match:
                highest = max(highest, int(match[1]))
    for index in plan.index[plan["action"] == "insert"]:
        highest += 1
        plan.at[index, "payload"] = {"code": f"SP NO. {highest:05d}", **(plan.at[index, "payload"] or {})}
    return plan


def _contact_parent_to_sales(mapping, plan, source, services) -> pd.DataFrame:
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


def _contact_company_to_bc(mapping, plan, source, services) -> pd.DataFrame:
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


RULES: dict[tuple[str, SyncPass], Rule] = {
    ("CONTACT", SyncPass.TO_CRM): _contact_parent_to_sales,
    ("CONTACT", SyncPass.FROM_CRM): _contact_company_to_bc,
    ("CUSTOMER", SyncPass.TO_CRM): _customer_template,
    ("CURRENCY", SyncPass.TO_CRM): _currency_rates,
    ("SALESPEOPLE", SyncPass.FROM_CRM): _salesperson_codes,
}
