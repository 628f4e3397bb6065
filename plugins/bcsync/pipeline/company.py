"""BC's multi-company rows in Dataverse: this BC company's `bcbi_company` row, the filter that reads only
its rows and the rows of no company, and the company lookup BC sets on the rows it writes to Sales.

BC finds its company's row by `bcbi_externalid` = the BC company's id in lower case (Company.SystemId,
the BC connection's `company_id`). Without such a row, or without the table (the Business Central
integration solution is not installed), the filter is off and no lookup is set: BC adds the CompanyId
condition only "when a CDS company record exists".
"""

from __future__ import annotations

import logging
import uuid
from weakref import WeakKeyDictionary

from bcsync.hooks.dataverse import DataverseHook
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire import odata
from bcsync.wire.errors import RecordRejected

log = logging.getLogger(__name__)

COMPANY_ENTITY_SET = "bcbi_companies"
COMPANY_KEY = "bcbi_companyid"
# The lookup to bcbi_company on account, contact, product, pricelevel, productpricelevel, invoice: its
# navigation property (for writes) and its value column (for reads and filters).
COMPANY_LOOKUP = "bcbi_companyid"
COMPANY_VALUE = f"_{COMPANY_LOOKUP}_value"
# Where BC sets the company before writing: cu 7205 "CDS Int. Table. Subscriber" on inserting and
# modifying accounts and contacts, cu 5341 "CRM Int. Table. Subscriber" on inserting an invoice and on
# inserting and modifying a customer price group's price list.
SET_ON_WRITE: dict[str, tuple[str, ...]] = {
    "account": ("insert", "modify"),
    "contact": ("insert", "modify"),
    "pricelevel": ("insert", "modify"),
    "invoice": ("insert",),
    "product": ("insert", "modify"),
}

# Per Dataverse hook (one per task): the row is looked up once, not once per page or id chunk.
_found: WeakKeyDictionary[DataverseHook, str | None] = WeakKeyDictionary()


def this_company(services: Services) -> str | None:
    """The id of this BC company's `bcbi_company` row, or None when Dataverse has none."""
    hook = services.crm
    if hook in _found:
        return _found[hook]
    external_id = services.bc.company_id.lower()
    try:
        rows = [
            row
            for page in hook.iter_pages(
                COMPANY_ENTITY_SET, select=[COMPANY_KEY], filter=odata.eq("bcbi_externalid", external_id)
            )
            for row in page
        ]
    except RecordRejected as rejection:
        if rejection.status != 404:
            raise
        rows = []  # no such table: the Business Central integration solution is not installed
    found = str(rows[0][COMPANY_KEY]).lower() if rows else None
    if found:
        log.info(
            "BC company %s is Dataverse company %s: rows of other companies are left alone",
            external_id,
            found,
        )
    else:
        log.info("BC company %s has no bcbi_company row in Dataverse: no company filter", external_id)
    _found[hook] = found
    return found


def known_company(services: Services) -> tuple[bool, str | None]:
    """(whether this task has looked the row up, and the row it found): without asking Dataverse."""
    hook = services.crm
    return (True, _found[hook]) if hook in _found else (False, None)


def assume_company(services: Services, company: str | None) -> None:
    """Take the row another task of the same run found, instead of looking it up again."""
    _found.setdefault(services.crm, company)


def company_filter(services: Services, mapping: IntegrationTableMapping) -> odata.Filter | None:
    """BC's CompanyId condition of the integration table filter: this company's rows or no company's."""
    if not mapping.company_filter:
        return None
    company = this_company(services)
    if company is None:
        return None
    return odata.eq(COMPANY_VALUE, uuid.UUID(company)) | odata.eq(COMPANY_VALUE, None)


def company_binding(services: Services, mapping: IntegrationTableMapping, action: str) -> dict[str, str]:
    """The company lookup BC sets on an `action` ("insert", "modify") written to the mapping's table."""
    if action not in SET_ON_WRITE.get(mapping.crm_entity, ()):
        return {}
    company = this_company(services)
    return {f"{COMPANY_LOOKUP}@odata.bind": f"/{COMPANY_ENTITY_SET}({company})"} if company else {}
