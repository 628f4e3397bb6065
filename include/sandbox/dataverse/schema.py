"""The Dataverse tables the sandbox serves, with their real logical names, types and lengths.

Facts that `EntitySchema` has no field for (choice labels, ownership, one-to-many navigation
properties, value ranges) live in `TABLE_FACTS` beside the schemas, keyed by logical name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sandbox.storage.schema import Attribute, AttributeType, EntitySchema

T = AttributeType

# The application user's fixed business unit, created by the sandbox when the seed did not.
ROOT_BUSINESS_UNIT_NAME = "sandbox"


@dataclass(frozen=True)
class TableFacts:
    """Dataverse metadata of a table that the storage layer does not need."""

    ownership: str  # "UserOwned" / "OrganizationOwned" (EntityDefinitions.OwnershipType)
    option_labels: dict[str, dict[int, str]] = field(default_factory=dict)
    # one-to-many navigation property -> (child logical name, child lookup attribute)
    collections: dict[str, tuple[str, str]] = field(default_factory=dict)
    ranges: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # attribute -> (min, max)
    # A computed name: attribute -> the attributes joined with a space (contact/systemuser fullname).
    composed: dict[str, tuple[str, ...]] = field(default_factory=dict)


TABLE_FACTS: dict[str, TableFacts] = {}


def _text(name: str, max_length: int, **options: Any) -> Attribute:
    return Attribute(name, T.STRING, max_length=max_length, **options)


def _memo(name: str, max_length: int = 2000, **options: Any) -> Attribute:
    return Attribute(name, T.MEMO, max_length=max_length, **options)


def _money(name: str, **options: Any) -> Attribute:
    return Attribute(name, T.MONEY, **options)


def _lookup(name: str, targets: dict[str, str] | str, **options: Any) -> Attribute:
    navigation = targets if isinstance(targets, dict) else {name: targets}
    return Attribute(name, T.LOOKUP, targets=navigation, **options)


# Choice labels by attribute object, collected into TableFacts.option_labels by `_table`.
_CHOICE_LABELS: dict[int, dict[int, str]] = {}


def _choice(name: str, labels: dict[int, str], *, open_set: bool = False, **options: Any) -> Attribute:
    # An open set accepts values beyond the shipped labels (BC adds payment terms and shipping
    # options to these option sets through the metadata API).
    attribute = Attribute(name, T.CHOICE, options=() if open_set else tuple(labels), **options)
    _CHOICE_LABELS[id(attribute)] = labels
    return attribute


def _audit() -> tuple[Attribute, ...]:
    return (
        Attribute("createdon", T.DATETIME, read_only=True),
        Attribute("modifiedon", T.DATETIME, read_only=True),
        _lookup("createdby", "systemuser", read_only=True),
        _lookup("modifiedby", "systemuser", read_only=True),
    )


def _state(active_status: int = 1, inactive_status: int = 2) -> tuple[Attribute, ...]:
    return (
        _choice("statecode", {0: "Active", 1: "Inactive"}, default=0),
        _choice("statuscode", {active_status: "Active", inactive_status: "Inactive"}, default=active_status),
    )


def _currency() -> tuple[Attribute, ...]:
    return (
        _lookup("transactioncurrencyid", "transactioncurrency"),
        Attribute("exchangerate", T.DECIMAL, read_only=True),
    )


def _company() -> Attribute:
    """BC's CompanyId (the Business Central integration solution's lookup to `bcbi_company`): which BC
    company a row belongs to; empty for rows of no company."""
    return _lookup("bcbi_companyid", "bcbi_company")


def _address(prefix: str) -> tuple[Attribute, ...]:
    return (
        _text(f"{prefix}_line1", 250),
        _text(f"{prefix}_line2", 250),
        _text(f"{prefix}_line3", 250),
        _text(f"{prefix}_city", 80),
        _text(f"{prefix}_stateorprovince", 50),
        _text(f"{prefix}_postalcode", 20),
        _text(f"{prefix}_country", 80),
    )


def _money_with_base(*names: str) -> tuple[Attribute, ...]:
    pairs: list[Attribute] = []
    for name in names:
        pairs += [_money(name), _money(f"{name}_base", read_only=True)]
    return tuple(pairs)


def _table(
    logical_name: str,
    set_name: str,
    attributes: tuple[Attribute, ...],
    *,
    type_code: int,
    facts: TableFacts,
    primary_name: str | None = "name",
    alternate_keys: dict[str, tuple[str, ...]] | None = None,
    change_tracking: bool = True,
    bulk_messages: bool = True,
) -> EntitySchema:
    key = Attribute(f"{logical_name}id", T.GUID, read_only=True)
    labels = {a.name: _CHOICE_LABELS[id(a)] for a in attributes if id(a) in _CHOICE_LABELS}
    TABLE_FACTS[logical_name] = replace(facts, option_labels={**labels, **facts.option_labels})
    return EntitySchema(
        service="dataverse",
        logical_name=logical_name,
        set_name=set_name,
        key=key.name,
        attributes=(key, *attributes, *_audit()),
        modified_on="modifiedon",
        created_on="createdon",
        primary_name=primary_name,
        alternate_keys=alternate_keys or {},
        change_tracking=change_tracking,
        bulk_messages=bulk_messages,
        entity_type_code=type_code,
    )


PAYMENT_TERMS = {1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"}
FREIGHT_TERMS = {1: "FOB", 2: "No Charge"}
SHIPPING_METHODS = {
    1: "Airborne",
    2: "DHL",
    3: "FedEx",
    4: "UPS",
    5: "Postal Mail",
    6: "Full Load",
    7: "Will Call",
}
CUSTOMER_TYPES = {
    1: "Competitor",
    2: "Consultant",
    3: "Customer",
    4: "Investor",
    5: "Partner",
    6: "Influencer",
    7: "Press",
    8: "Prospect",
    9: "Reseller",
    10: "Supplier",
    11: "Vendor",
    12: "Other",
}
_OWNER = _lookup("ownerid", "systemuser")

BUSINESSUNIT = _table(
    "businessunit",
    "businessunits",
    (
        _text("name", 160, required=True),
        _lookup("parentbusinessunitid", "businessunit"),
        Attribute("isdisabled", T.BOOLEAN, default=False, read_only=True),
    ),
    type_code=10,
    facts=TableFacts("BusinessOwned"),
    change_tracking=False,
    bulk_messages=False,
)

SYSTEMUSER = _table(
    "systemuser",
    "systemusers",
    (
        _text("firstname", 64),
        _text("lastname", 64),
        _text("fullname", 200, read_only=True),
        _text("domainname", 1024),
        _text("internalemailaddress", 100),
        _text("mobilephone", 64),
        _text("title", 128),
        Attribute("isdisabled", T.BOOLEAN, default=False),
        Attribute("islicensed", T.BOOLEAN, default=True),
        Attribute("isintegrationuser", T.BOOLEAN, default=False),
        Attribute("applicationid", T.GUID),
        Attribute("azureactivedirectoryobjectid", T.GUID),
        _choice(
            "accessmode",
            {
                0: "Read-Write",
                1: "Administrative",
                2: "Read",
                3: "Support User",
                4: "Non-interactive",
                5: "Delegated Admin",
            },
            default=0,
        ),
        _lookup("businessunitid", "businessunit", required=True),
    ),
    type_code=8,
    facts=TableFacts("BusinessOwned", composed={"fullname": ("firstname", "lastname")}),
    primary_name="fullname",
    # System users are created through user provisioning, one at a time.
    bulk_messages=False,
)

TRANSACTIONCURRENCY = _table(
    "transactioncurrency",
    "transactioncurrencies",
    (
        _text("currencyname", 100, required=True),
        _text("isocurrencycode", 5, required=True),
        _text("currencysymbol", 10, required=True),
        Attribute("currencyprecision", T.INTEGER, required=True),
        Attribute("exchangerate", T.DECIMAL, required=True),
        *_state(),
    ),
    type_code=9105,
    facts=TableFacts(
        "OrganizationOwned",
        ranges={
            "currencyprecision": (0, 10),
            "exchangerate": (Decimal("0.0000000001"), Decimal("100000000000")),
        },
    ),
    primary_name="currencyname",
    # Currencies go through the platform's own currency setup, not the bulk pipeline.
    bulk_messages=False,
)

ACCOUNT = _table(
    "account",
    "accounts",
    (
        _text("name", 160),
        _text("accountnumber", 20),
        _text("address1_primarycontactname", 100),
        *_address("address1"),
        _choice("address1_freighttermscode", FREIGHT_TERMS, open_set=True),
        _choice("address1_shippingmethodcode", SHIPPING_METHODS, open_set=True),
        _choice("paymenttermscode", PAYMENT_TERMS, open_set=True),
        _choice("customertypecode", CUSTOMER_TYPES),
        _text("emailaddress1", 100),
        _text("fax", 50),
        _text("telephone1", 50),
        _text("telephone2", 50),
        _text("websiteurl", 200),
        _memo("description"),
        *_money_with_base("creditlimit"),
        _lookup("primarycontactid", "contact"),
        _lookup("parentaccountid", "account"),
        _lookup("defaultpricelevelid", "pricelevel"),
        _lookup("nav_accountstatisticsid", "nav_accountstatistics"),
        _OWNER,
        *_currency(),
        *_state(),
        _company(),
    ),
    type_code=1,
    facts=TableFacts(
        "UserOwned",
        collections={"contact_customer_accounts": ("contact", "parentcustomerid")},
    ),
)

CONTACT = _table(
    "contact",
    "contacts",
    (
        _text("firstname", 50),
        _text("middlename", 50),
        _text("lastname", 50),
        _text("fullname", 160, read_only=True),
        _text("jobtitle", 100),
        *_address("address1"),
        _text("emailaddress1", 100),
        _text("fax", 50),
        _text("telephone1", 50),
        _text("mobilephone", 50),
        _text("pager", 50),
        _text("websiteurl", 200),
        _memo("description"),
        _lookup(
            "parentcustomerid",
            {"parentcustomerid_account": "account", "parentcustomerid_contact": "contact"},
        ),
        _OWNER,
        *_currency(),
        *_state(),
        _company(),
    ),
    type_code=2,
    facts=TableFacts("UserOwned", composed={"fullname": ("firstname", "lastname")}),
    primary_name="fullname",
)

UOMSCHEDULE = _table(
    "uomschedule",
    "uomschedules",
    (
        _text("name", 200, required=True),
        _text("baseuomname", 100, required=True),
        _memo("description"),
        *_state(),
    ),
    type_code=1056,
    facts=TableFacts("OrganizationOwned"),
)

UOM = _table(
    "uom",
    "uoms",
    (
        _text("name", 100, required=True),
        _lookup("uomscheduleid", "uomschedule", required=True),
        _lookup("baseuom", "uom"),
        Attribute("quantity", T.DECIMAL, required=True),
        Attribute("isschedulebaseuom", T.BOOLEAN, default=False, read_only=True),
    ),
    type_code=1055,
    facts=TableFacts("OrganizationOwned"),
)

PRODUCT_STATES = {0: "Active", 1: "Retired", 2: "Draft", 3: "Under Revision"}
PRODUCT = _table(
    "product",
    "products",
    (
        _text("name", 100, required=True),
        _text("productnumber", 100, required=True),
        _memo("description"),
        _choice(
            "producttypecode",
            {1: "Sales Inventory", 2: "Miscellaneous Charges", 3: "Services", 4: "Flat Fees"},
            default=1,
        ),
        _choice("productstructure", {1: "Product", 2: "Product Family", 3: "Product Bundle"}, default=1),
        *_money_with_base("price", "standardcost", "currentcost"),
        Attribute("stockvolume", T.DECIMAL),
        Attribute("stockweight", T.DECIMAL),
        Attribute("quantityonhand", T.DECIMAL),
        Attribute("quantitydecimal", T.INTEGER, default=0),
        _text("vendorid", 100),
        _text("vendorname", 100),
        _text("vendorpartnumber", 100),
        _lookup("defaultuomscheduleid", "uomschedule", required=True),
        _lookup("defaultuomid", "uom", required=True),
        _lookup("pricelevelid", "pricelevel"),
        *_currency(),
        _choice("statecode", PRODUCT_STATES, default=0),
        _choice("statuscode", {0: "Draft", 1: "Active", 2: "Retired", 3: "Under Revision"}, default=1),
        _company(),
    ),
    type_code=1024,
    facts=TableFacts("OrganizationOwned", ranges={"quantitydecimal": (0, 5)}),
)

PRICELEVEL = _table(
    "pricelevel",
    "pricelevels",
    (
        _text("name", 100, required=True),
        _memo("description"),
        Attribute("begindate", T.DATETIME),
        Attribute("enddate", T.DATETIME),
        _lookup("transactioncurrencyid", "transactioncurrency", required=True),
        Attribute("exchangerate", T.DECIMAL, read_only=True),
        *_state(active_status=100001, inactive_status=100002),
        _company(),
    ),
    type_code=1022,
    facts=TableFacts(
        "OrganizationOwned",
        collections={"price_level_product_price_levels": ("productpricelevel", "pricelevelid")},
    ),
)

PRICING_METHODS = {
    1: "Currency Amount",
    2: "Percent of List",
    3: "Percent Markup - Current Cost",
    4: "Percent Margin - Current Cost",
    5: "Percent Markup - Standard Cost",
    6: "Percent Margin - Standard Cost",
}
PRODUCTPRICELEVEL = _table(
    "productpricelevel",
    "productpricelevels",
    (
        _lookup("pricelevelid", "pricelevel", required=True),
        _lookup("productid", "product", required=True),
        _text("productnumber", 100, read_only=True),
        _lookup("uomid", "uom", required=True),
        _lookup("uomscheduleid", "uomschedule"),
        *_money_with_base("amount"),
        _choice("pricingmethodcode", PRICING_METHODS, default=1),
        _choice(
            "quantitysellingcode",
            {1: "No Control", 2: "Whole", 3: "Whole and Fractional"},
            default=1,
        ),
        *_currency(),
        _company(),
    ),
    type_code=1026,
    facts=TableFacts("OrganizationOwned"),
    primary_name=None,
)

INVOICE_STATES = {0: "Active", 1: "Closed", 2: "Paid", 3: "Canceled"}
INVOICE_STATUSES = {
    1: "New",
    2: "Partially Shipped",
    4: "Billed",
    5: "Booked (applies to services)",
    6: "Installed (applies to services)",
    100001: "Complete",
    100002: "Partial",
    100003: "Canceled",
}
INVOICE = _table(
    "invoice",
    "invoices",
    (
        _text("name", 300, required=True),
        _text("invoicenumber", 100),
        _memo("description"),
        _lookup(
            "customerid",
            {"customerid_account": "account", "customerid_contact": "contact"},
            required=True,
        ),
        # Required on a sales document: its products are priced from it (the form and the API agree).
        _lookup("pricelevelid", "pricelevel", required=True),
        Attribute("duedate", T.DATETIME),
        Attribute("datedelivered", T.DATETIME),
        _text("shipto_name", 200),
        *_address("shipto"),
        _text("billto_name", 200),
        *_address("billto"),
        *_money_with_base(
            "totalamount",
            "totalamountlessfreight",
            "totallineitemamount",
            "totallineitemdiscountamount",
            "totaldiscountamount",
            "discountamount",
            "freightamount",
            "totaltax",
        ),
        Attribute("discountpercentage", T.DECIMAL),
        Attribute("ispricelocked", T.BOOLEAN, default=False),
        _choice("shippingmethodcode", SHIPPING_METHODS, open_set=True),
        _choice("paymenttermscode", PAYMENT_TERMS, open_set=True),
        _OWNER,
        *_currency(),
        _choice("statecode", INVOICE_STATES, default=0),
        _choice("statuscode", INVOICE_STATUSES, default=1),
        _company(),
    ),
    type_code=1090,
    facts=TableFacts(
        "UserOwned",
        collections={"invoice_details": ("invoicedetail", "invoiceid")},
    ),
    # Sales documents run the pricing engine per row; they are not in the bulk-message set, so
    # clients must probe sdkmessagefilters and fall back to $batch for them.
    bulk_messages=False,
)

INVOICEDETAIL = _table(
    "invoicedetail",
    "invoicedetails",
    (
        _lookup("invoiceid", "invoice", required=True),
        _lookup("productid", "product"),
        _lookup("uomid", "uom"),
        _memo("productdescription", 500),
        Attribute("quantity", T.DECIMAL, required=True),
        Attribute("lineitemnumber", T.INTEGER),
        *_money_with_base(
            "priceperunit",
            "manualdiscountamount",
            "volumediscountamount",
            "baseamount",
            "extendedamount",
            "tax",
        ),
        Attribute("ispriceoverridden", T.BOOLEAN, default=False),
        Attribute("isproductoverridden", T.BOOLEAN, default=False),
        Attribute("actualdeliveryon", T.DATETIME),
        _text("shipto_name", 200),
        *_address("shipto"),
        _lookup("transactioncurrencyid", "transactioncurrency"),
        # Lines carry their own rate (BC writes 1 / currency factor).
        Attribute("exchangerate", T.DECIMAL),
    ),
    type_code=1091,
    facts=TableFacts("UserOwned"),
    primary_name=None,
    bulk_messages=False,
)

_STATISTICS_AMOUNTS = (
    "nav_balancelcy",
    "nav_outstandingorderslcy",
    "nav_shippednotinvoicedlcy",
    "nav_outstandinginvoiceslcy",
    "nav_outstandingserviceorderslcy",
    "nav_servshippednotinvoicedlcy",
    "nav_outstandingservinvoiceslcy",
    "nav_totallcy",
    "nav_creditlimitlcy",
    "nav_overdueamountslcy",
    "nav_totalsaleslcy",
    "nav_invoicedprepaymentamountlcy",
)
NAV_ACCOUNTSTATISTICS = _table(
    "nav_accountstatistics",
    # Dataverse pluralises a logical name ending in "s" with "es".
    "nav_accountstatisticses",
    (
        _text("nav_name", 160),
        _text("nav_customerno", 20),
        *_money_with_base(*_STATISTICS_AMOUNTS),
        # BC's WorkDate(): a date-only attribute (Edm.Date), as "Overdue Amounts As Of" is a Date in BC.
        Attribute("nav_overdueamountsasof", T.DATE),
        _OWNER,
        *_currency(),
        *_state(),
    ),
    type_code=10100,
    facts=TableFacts("UserOwned"),
    primary_name="nav_name",
)

# The Business Central integration solution's company table ("CDS Company" in BC): one row per BC
# company, found by `bcbi_externalid` = the BC company's id in lower case.
BCBI_COMPANY = _table(
    "bcbi_company",
    "bcbi_companies",
    (
        _text("bcbi_name", 30),
        _text("bcbi_externalid", 36),
        _OWNER,
        *_state(),
    ),
    type_code=10101,
    facts=TableFacts("UserOwned"),
    primary_name="bcbi_name",
)

SCHEMAS: tuple[EntitySchema, ...] = (
    BUSINESSUNIT,
    SYSTEMUSER,
    TRANSACTIONCURRENCY,
    ACCOUNT,
    CONTACT,
    UOMSCHEDULE,
    UOM,
    PRODUCT,
    PRICELEVEL,
    PRODUCTPRICELEVEL,
    INVOICE,
    INVOICEDETAIL,
    NAV_ACCOUNTSTATISTICS,
    BCBI_COMPANY,
)

BY_LOGICAL_NAME: dict[str, EntitySchema] = {schema.logical_name: schema for schema in SCHEMAS}

# Alternate keys are declared per environment, as a maker would define them, e.g.
# SANDBOX_DATAVERSE_ALTERNATE_KEYS='{"account": {"accountnumber_key": ["accountnumber"]}}'.
ALTERNATE_KEYS_VARIABLE = "SANDBOX_DATAVERSE_ALTERNATE_KEYS"


def with_alternate_keys(
    schemas: Iterable[EntitySchema], keys: Mapping[str, Mapping[str, Sequence[str]]]
) -> tuple[EntitySchema, ...]:
    """The schemas with extra alternate keys ({logical name: {key name: [attributes]}})."""
    by_name = {schema.logical_name: schema for schema in schemas}
    for logical_name, declared in keys.items():
        schema = by_name.get(logical_name)
        if schema is None:
            raise ValueError(f"alternate keys name the unknown table {logical_name!r}")
        for key_name, attributes in declared.items():
            if not attributes or isinstance(attributes, str):
                raise ValueError(f"alternate key {logical_name}.{key_name} must list one or more attributes")
            for name in attributes:
                attribute = schema.attribute(name)
                if attribute is None or name != attribute.name:
                    raise ValueError(
                        f"alternate key {logical_name}.{key_name} names unknown attribute {name!r}"
                    )
        merged = {**schema.alternate_keys, **{name: tuple(attrs) for name, attrs in declared.items()}}
        by_name[logical_name] = replace(schema, alternate_keys=merged)
    return tuple(by_name.values())


def declared_schemas(environ: Mapping[str, str]) -> tuple[EntitySchema, ...]:
    """SCHEMAS plus the alternate keys declared in SANDBOX_DATAVERSE_ALTERNATE_KEYS."""
    raw = environ.get(ALTERNATE_KEYS_VARIABLE, "").strip()
    if not raw:
        return SCHEMAS
    try:
        keys = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"{ALTERNATE_KEYS_VARIABLE} is not valid JSON: {error}") from None
    if not isinstance(keys, dict) or not all(isinstance(value, dict) for value in keys.values()):
        raise ValueError(f"{ALTERNATE_KEYS_VARIABLE} must be a JSON object of objects")
    return with_alternate_keys(SCHEMAS, keys)
