"""The application user behind a token: the systemuser whose `applicationid` is the caller's app id.

Dataverse attributes every write (createdby/modifiedby/ownerid) to that user. A real environment needs
it created by an admin; the sandbox creates it on first use when the seed did not.
"""

from __future__ import annotations

import uuid

from sandbox.dataverse.catalog import Catalog
from sandbox.dataverse.errors import OBJECT_DOES_NOT_EXIST, DataverseError, bad_request, record_not_found
from sandbox.dataverse.schema import ROOT_BUSINESS_UNIT_NAME
from sandbox.storage.repository import UnitOfWork

ORGANIZATION_NAMESPACE = uuid.UUID("0f6b3c7e-2d41-4c53-9a0e-5b8f1d2c3a4e")


def organization_id(base_url: str) -> str:
    """A stable organization id per environment URL (WhoAmI's OrganizationId)."""
    return str(uuid.uuid5(ORGANIZATION_NAMESPACE, base_url))


def root_business_unit(work: UnitOfWork, catalog: Catalog) -> str:
    """The business unit without a parent, created when the database has none."""
    schema = catalog.by_logical_name["businessunit"]
    roots = work.find(schema, {"parentbusinessunitid": None})
    if roots:
        return roots[0][schema.key]
    return work.insert(schema, {"name": ROOT_BUSINESS_UNIT_NAME}, as_system=True)[schema.key]


def application_user(work: UnitOfWork, catalog: Catalog, app_id: str) -> str:
    """The systemuserid of the application user for `app_id` (created on first use)."""
    schema = catalog.by_logical_name["systemuser"]
    found = work.find(schema, {"applicationid": app_id})
    if found:
        return found[0][schema.key]
    values = {
        # Stable per app id, so a database reset and a new first call give the same user id.
        schema.key: str(uuid.uuid5(ORGANIZATION_NAMESPACE, f"application-user:{app_id.lower()}")),
        "applicationid": app_id,
        "firstname": "# bcsync",
        "lastname": "application user",
        "fullname": "# bcsync application user",
        "domainname": f"{app_id.lower()}@sandbox.local",
        "accessmode": 4,  # Non-interactive
        "isintegrationuser": False,
        "islicensed": False,
        "businessunitid": root_business_unit(work, catalog),
    }
    return work.insert(schema, values, as_system=True)[schema.key]


# Impersonation headers (Web API "Impersonate another user"): the preferred one names the user by
# their Entra object id, the legacy one by systemuserid. The application user the sandbox creates has
# the prvActOnBehalfOfAnotherUser privilege, as the Delegate role gives it in a real environment.
CALLER_OBJECT_ID = "callerobjectid"
MSCRM_CALLER_ID = "mscrmcallerid"


def impersonated_user(
    work: UnitOfWork, catalog: Catalog, object_id: str | None, caller_id: str | None
) -> str | None:
    """The systemuserid a request acts as when it sends `CallerObjectId` or `MSCRMCallerID`, else None.

    `CallerObjectId` wins when both are sent. An id that is not a GUID is 400; one that names no
    user is 404 `0x80040217`, as for any record that does not exist.
    """
    header, value = ("CallerObjectId", object_id) if object_id is not None else ("MSCRMCallerID", caller_id)
    if value is None:
        return None
    try:
        wanted = str(uuid.UUID(value.strip()))
    except ValueError:
        raise bad_request(f"The value '{value}' of the {header} header is not a valid GUID.") from None
    schema = catalog.by_logical_name["systemuser"]
    if header == "CallerObjectId":
        found = work.find(schema, {"azureactivedirectoryobjectid": wanted})
        if not found:
            raise DataverseError(
                404,
                OBJECT_DOES_NOT_EXIST,
                f"Entity 'systemuser' With azureactivedirectoryobjectid = {wanted} Does Not Exist",
            )
        return found[0][schema.key]
    row = work.get(schema, wanted)
    if row is None:
        raise record_not_found("systemuser", wanted)
    return row[schema.key]
