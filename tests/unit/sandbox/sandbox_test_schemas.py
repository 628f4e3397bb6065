"""Small Dataverse-like and BC-like schemas and a hand-moved clock for the sandbox storage and OData tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.storage.schema import Attribute, AttributeType, EntitySchema

T = AttributeType

ACCOUNT = EntitySchema(
    service="dataverse",
    logical_name="account",
    set_name="accounts",
    key="accountid",
    attributes=(
        Attribute("accountid", T.GUID, read_only=True),
        Attribute("name", T.STRING, max_length=20, required=True),
        Attribute("accountnumber", T.STRING, max_length=20),
        Attribute("creditlimit", T.MONEY),
        Attribute("numberofemployees", T.INTEGER),
        Attribute("donotemail", T.BOOLEAN, default=False),
        Attribute("customertypecode", T.CHOICE, options=(1, 2, 3)),
        Attribute("description", T.MEMO),
        Attribute("opendate", T.DATE),
        Attribute("lastcontacted", T.DATETIME),
        Attribute("parentcustomerid", T.LOOKUP, targets={"parentcustomerid_account": "account"}),
        Attribute("createdby", T.LOOKUP, read_only=True, targets={"createdby": "systemuser"}),
        Attribute("modifiedby", T.LOOKUP, read_only=True, targets={"modifiedby": "systemuser"}),
        Attribute("createdon", T.DATETIME, read_only=True),
        Attribute("modifiedon", T.DATETIME, read_only=True),
    ),
    modified_on="modifiedon",
    created_on="createdon",
    primary_name="name",
    alternate_keys={"accountnumber_key": ("accountnumber",)},
    change_tracking=True,
)

CUSTOMER = EntitySchema(
    service="bc",
    logical_name="customer",
    set_name="customers",
    key="id",
    attributes=(
        Attribute("id", T.GUID, read_only=True),
        Attribute("number", T.STRING, max_length=20),
        Attribute("displayName", T.STRING, max_length=100),
        Attribute("blocked", T.ENUM, options=(" ", "Ship", "Invoice", "All")),
        Attribute("balanceDue", T.DECIMAL, read_only=True),
        Attribute("lastModifiedDateTime", T.DATETIME, read_only=True),
    ),
    modified_on="lastModifiedDateTime",
    alternate_keys={"number": ("number",)},
    company_scoped=True,
)

COMPANY_A = "11111111-1111-1111-1111-111111111111"
COMPANY_B = "22222222-2222-2222-2222-222222222222"


class SteppingClock:
    """A clock the test moves by hand, so timestamps (and ties between them) are exact."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)
