"""The Business Central tables behind the API pages: one `EntitySchema` per BC table, every field once.

Attribute names: the standard API v2.0 property name where a standard page exposes the field (B.3),
else the lowerCamelCase of the BC field caption without punctuation ("Fax No." → faxNo). `id` is the
table's SystemId and `lastModifiedDateTime` its SystemModifiedAt. Pages (`sandbox.bc.pages`) are
projections of these tables, so the standard and the custom page over one table show the same rows.
As in BC, no field is ever null: text defaults to "", numbers to 0, GUIDs to the empty GUID and dates
to 0001-01-01 (BC's blank date).

Tables (logical name ← BC table): fields beyond id and lastModifiedDateTime
  company ← Company: systemVersion, name, displayName, businessProfileId
  customer ← Customer: number, displayName, type, addressLine1/2, city, state, country, postalCode,
    phoneNumber, email, website, salespersonCode, balanceDue, creditLimit, taxLiable, taxAreaId,
    taxAreaDisplayName, taxRegistrationNumber, currencyId/Code, paymentTermsId, shipmentMethodId,
    paymentMethodId, blocked, contact, faxNo, primaryContactNo, shippingAgentCode,
    shipmentMethodCode, paymentTermsCode, customerPriceGroup; ledger figures (read-only):
    balanceLCY, outstandingOrdersLCY, shippedNotInvoicedLCY, outstandingInvoicesLCY,
    outstandingServOrdersLCY, servShippedNotInvoicedLCY, outstandingServInvoicesLCY,
    invoicedPrepmtAmountLCY, totalAmountLCY, overdueAmountsLCY, overdueAmountsAsOf, salesLCY,
    lastActivityDateTime (the latest ledger/sales/service line activity; null when none)
  vendor ← Vendor: number, displayName, addressLine1/2, city, state, country, postalCode, phoneNumber,
    email, website, taxRegistrationNumber, currencyId/Code, irs1099Code, paymentTermsId,
    paymentMethodId, taxLiable, blocked, balance (read-only), purchaserCode, contact, faxNo,
    primaryContactNo, shippingAgentCode, shipmentMethodCode, paymentTermsCode
  contact ← Contact: number, type, displayName, jobTitle, companyNumber, companyName,
    contactBusinessRelation, addressLine1/2, city, state, country, postalCode, phoneNumber,
    mobilePhoneNumber, email, website, searchName, privacyBlocked, taxRegistrationNumber,
    lastInteractionDate, firstName, middleName, surname, faxNo, pager, salespersonCode, currencyCode
  item ← Item: number, displayName, displayName2, type, itemCategoryId/Code, blocked, gtin, inventory,
    unitPrice, priceIncludesTax, unitCost, taxGroupId/Code, baseUnitOfMeasureId/Code,
    generalProductPostingGroupId/Code, inventoryPostingGroupId/Code, unitVolume, grossWeight,
    vendorNo, vendorItemNo
  currency ← Currency: code, displayName, symbol, amountDecimalPlaces, amountRoundingPrecision, isoCode
  unitOfMeasure ← Unit of Measure: code, displayName, internationalStandardCode, symbol
  salespersonPurchaser ← Salesperson/Purchaser: code, displayName, email, email2, phoneNo, jobTitle,
    commisionPercent, privacyBlocked, blocked
  salesInvoice ← Sales Invoice Entity Aggregate (drafts and posted): the B.3 salesInvoices fields,
    plus shipmentDate, shippingAgentCode, shipmentMethodCode, paymentTermsCode, workDescription,
    currencyFactor
  salesInvoiceLine ← Sales Invoice Line Aggregate: the B.3 fields (documentId = salesInvoice.id)
  customerPriceGroup ← Customer Price Group: code, description, priceIncludesVAT, allowInvoiceDisc,
    allowLineDisc
  salesPrice ← Sales Price: itemNo, salesType, salesCode, startingDate, endingDate, currencyCode,
    variantCode, unitOfMeasureCode, minimumQuantity, unitPrice, priceIncludesVAT, allowLineDisc,
    allowInvoiceDisc
  resource ← Resource: no, type, name, searchName, baseUnitOfMeasure, unitCost, unitPrice, vendorNo,
    capacity, blocked, resourceGroupNo
  noSeries ← No. Series (+ line): code, description, startingNo, lastNoUsed, incrementByNo
  currencyExchangeRate ← Currency Exchange Rate: currencyCode, startingDate, exchangeRateAmount,
    relationalCurrencyCode (blank = LCY), relationalExchangeRateAmount
  paymentTerm ← Payment Terms: code, displayName, dueDateCalculation, discountDateCalculation,
    discountPercent, calculateDiscountOnCreditMemos
  shipmentMethod ← Shipment Method: code, displayName
  shippingAgent ← Shipping Agent: code, name, internetAddress
  contactBusinessRelation ← Contact Business Relation (5054): contactNo, businessRelationCode,
    linkToTable, no
  configTemplateHeader ← Config. Template Header (8618): code, description, tableId, tableName
  configTemplateLine ← Config. Template Line (8619): dataTemplateCode, lineNo, tableId, fieldId,
    fieldName, defaultValue

A customer written through the API keeps a Company contact (CONT series) and a CUST relation to it,
as BC's CustCont-Update does (`sandbox.bc.customer_contacts`). Vendors get none: the company's
Marketing Setup leaves "Bus. Rel. Code for Vendors" blank, so BC's VendCont-Update does nothing.

Seed data writes read-only figures (ledger figures, inventory, totals, posted statuses) with
`as_system=True`; API clients cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.storage.schema import Attribute, AttributeType, EntitySchema

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
BLANK_DATE = date(1, 1, 1)  # BC's 0D, shown as 0001-01-01 on the wire
SERVICE = "bc"

# What an unset field of each type holds in BC (no field is ever null).
_BLANKS: dict[AttributeType, Any] = {
    AttributeType.STRING: "",
    AttributeType.MEMO: "",
    AttributeType.INTEGER: 0,
    AttributeType.DECIMAL: Decimal(0),
    AttributeType.BOOLEAN: False,
    AttributeType.GUID: EMPTY_GUID,
    AttributeType.DATE: BLANK_DATE,
}


def _field(
    name: str,
    kind: AttributeType,
    length: int | None = None,
    *,
    caption: str,
    read_only: bool = False,
    required: bool = False,
    default: Any = None,
    options: tuple[str, ...] = (),
) -> Attribute:
    if default is None:
        default = options[0] if options else _BLANKS.get(kind)
    return Attribute(
        name,
        kind,
        max_length=length,
        caption=caption,
        read_only=read_only,
        required=required,
        default=default,
        options=options,
    )


def text(name: str, length: int, caption: str, **options: Any) -> Attribute:
    return _field(name, AttributeType.STRING, length, caption=caption, **options)


@dataclass(frozen=True)
class CodeAttribute(Attribute):
    """A BC Code field: text BC stores upper-cased (the service upper-cases what clients write)."""


def code(
    name: str, length: int, caption: str, *, required: bool = False, read_only: bool = False
) -> Attribute:
    return CodeAttribute(
        name,
        AttributeType.STRING,
        max_length=length,
        caption=caption,
        required=required,
        read_only=read_only,
        default="",
    )


def decimal(name: str, caption: str, **options: Any) -> Attribute:
    return _field(name, AttributeType.DECIMAL, caption=caption, **options)


def boolean(name: str, caption: str, **options: Any) -> Attribute:
    return _field(name, AttributeType.BOOLEAN, caption=caption, **options)


def guid(name: str, caption: str, **options: Any) -> Attribute:
    return _field(name, AttributeType.GUID, caption=caption, **options)


def day(name: str, caption: str, **options: Any) -> Attribute:
    return _field(name, AttributeType.DATE, caption=caption, **options)


def enum(name: str, caption: str, members: tuple[str, ...], **options: Any) -> Attribute:
    return _field(name, AttributeType.ENUM, caption=caption, options=members, **options)


def integer(name: str, caption: str, **options: Any) -> Attribute:
    return _field(name, AttributeType.INTEGER, caption=caption, **options)


SYSTEM_ID = Attribute("id", AttributeType.GUID, read_only=True, caption="SystemId")
SYSTEM_MODIFIED_AT = Attribute(
    "lastModifiedDateTime", AttributeType.DATETIME, read_only=True, caption="SystemModifiedAt"
)


def table(
    logical_name: str,
    set_name: str,
    *fields: Attribute,
    alternate_keys: dict[str, tuple[str, ...]] | None = None,
    indexes: dict[str, tuple[str, ...]] | None = None,
    company_scoped: bool = True,
    parent: tuple[str, str] | None = None,
    api_route: str = "v2.0",
) -> EntitySchema:
    return EntitySchema(
        service=SERVICE,
        logical_name=logical_name,
        set_name=set_name,
        key="id",
        attributes=(SYSTEM_ID, *fields, SYSTEM_MODIFIED_AT),
        modified_on="lastModifiedDateTime",
        alternate_keys=alternate_keys or {},
        indexes=indexes or {},
        company_scoped=company_scoped,
        parent=parent,
        api_route=api_route,
    )


CONTACT_TYPES = ("Company", "Person")
BLOCKED = (" ", "Ship", "Invoice", "All")
VENDOR_BLOCKED = (" ", "Payment", "All")  # enum "Vendor Blocked"
INVOICE_STATUSES = (" ", "Draft", "In Review", "Open", "Paid", "Canceled", "Corrective")
POSTED_STATUSES = frozenset({"Open", "Paid", "Canceled", "Corrective"})
LINE_TYPES = ("Comment", "Account", "Item", "Resource", "Value", "Fixed Asset", "Charge")


def _address(prefix: str = "", caption: str = "") -> tuple[Attribute, ...]:
    """The address block of a record; invoices repeat it for sell-to, bill-to and ship-to."""

    def name(suffix: str) -> str:
        return f"{prefix}{suffix}" if prefix else suffix[0].lower() + suffix[1:]

    return (
        text(name("AddressLine1"), 100, f"{caption}Address"),
        text(name("AddressLine2"), 50, f"{caption}Address 2"),
        text(name("City"), 30, f"{caption}City"),
        text(name("State"), 30, f"{caption}County"),
        code(name("Country"), 10, f"{caption}Country/Region Code"),
        # The standard pages spell it postalCode on master data and ...PostCode on documents.
        code(name("PostCode" if prefix else "PostalCode"), 20, f"{caption}Post Code"),
    )


COMPANY = table(
    "company",
    "companies",
    text("systemVersion", 250, "System Version", read_only=True),
    text("name", 30, "Name", required=True),
    text("displayName", 250, "Display Name"),
    text("businessProfileId", 250, "Business Profile Id"),
    company_scoped=False,
)

_LEDGER_FIGURES = tuple(
    decimal(name, caption, read_only=True)
    for name, caption in (
        ("balanceLCY", "Balance (LCY)"),
        ("outstandingOrdersLCY", "Outstanding Orders (LCY)"),
        ("shippedNotInvoicedLCY", "Shipped Not Invoiced (LCY)"),
        ("outstandingInvoicesLCY", "Outstanding Invoices (LCY)"),
        ("outstandingServOrdersLCY", "Outstanding Serv. Orders (LCY)"),
        ("servShippedNotInvoicedLCY", "Serv Shipped Not Invoiced(LCY)"),
        ("outstandingServInvoicesLCY", "Outstanding Serv.Invoices(LCY)"),
        ("invoicedPrepmtAmountLCY", "Invoiced Prepmt. Amount (LCY)"),
        ("totalAmountLCY", "Total (LCY)"),
        ("overdueAmountsLCY", "Overdue Amounts (LCY)"),
        ("salesLCY", "Sales (LCY)"),
    )
)

CUSTOMER = table(
    "customer",
    "customers",
    code("number", 20, "No."),
    text("displayName", 100, "Name"),
    enum("type", "Contact Type", CONTACT_TYPES),
    *_address(),
    text("phoneNumber", 30, "Phone No."),
    text("email", 80, "E-Mail"),
    text("website", 80, "Home Page"),
    code("salespersonCode", 20, "Salesperson Code"),
    decimal("balanceDue", "Balance Due (LCY)", read_only=True),
    decimal("creditLimit", "Credit Limit (LCY)"),
    boolean("taxLiable", "Tax Liable"),
    guid("taxAreaId", "Tax Area ID"),
    text("taxAreaDisplayName", 100, "Tax Area Display Name", read_only=True),
    text("taxRegistrationNumber", 20, "VAT Registration No."),
    guid("currencyId", "Currency Id"),
    code("currencyCode", 10, "Currency Code"),
    guid("paymentTermsId", "Payment Terms Id"),
    guid("shipmentMethodId", "Shipment Method Id"),
    guid("paymentMethodId", "Payment Method Id"),
    enum("blocked", "Blocked", BLOCKED),
    text("contact", 100, "Contact"),
    text("faxNo", 30, "Fax No."),
    code("primaryContactNo", 20, "Primary Contact No."),
    code("shippingAgentCode", 10, "Shipping Agent Code"),
    code("shipmentMethodCode", 10, "Shipment Method Code"),
    code("paymentTermsCode", 10, "Payment Terms Code"),
    code("customerPriceGroup", 10, "Customer Price Group"),
    *_LEDGER_FIGURES,
    day("overdueAmountsAsOf", "Overdue Amounts As Of", read_only=True),
    # The latest SystemModifiedAt of the customer's ledger entries, sales and service lines: what
    # BC's statistics job compares with its last run (null: the customer has none).
    Attribute(
        "lastActivityDateTime", AttributeType.DATETIME, read_only=True, caption="Last Activity Date Time"
    ),
    alternate_keys={"number": ("number",)},
)

VENDOR = table(
    "vendor",
    "vendors",
    code("number", 20, "No."),
    text("displayName", 100, "Name"),
    *_address(),
    text("phoneNumber", 30, "Phone No."),
    text("email", 80, "E-Mail"),
    text("website", 80, "Home Page"),
    text("taxRegistrationNumber", 20, "VAT Registration No."),
    guid("currencyId", "Currency Id"),
    code("currencyCode", 10, "Currency Code"),
    code("irs1099Code", 10, "IRS 1099 Code"),
    guid("paymentTermsId", "Payment Terms Id"),
    guid("paymentMethodId", "Payment Method Id"),
    boolean("taxLiable", "Tax Liable"),
    enum("blocked", "Blocked", VENDOR_BLOCKED),
    decimal("balance", "Balance (LCY)", read_only=True),
    code("purchaserCode", 20, "Purchaser Code"),
    text("contact", 100, "Contact"),
    text("faxNo", 30, "Fax No."),
    code("primaryContactNo", 20, "Primary Contact No."),
    code("shippingAgentCode", 10, "Shipping Agent Code"),
    code("shipmentMethodCode", 10, "Shipment Method Code"),
    code("paymentTermsCode", 10, "Payment Terms Code"),
    alternate_keys={"number": ("number",)},
)

CONTACT = table(
    "contact",
    "contacts",
    code("number", 20, "No."),
    enum("type", "Type", CONTACT_TYPES),
    text("displayName", 100, "Name"),
    text("jobTitle", 30, "Job Title"),
    code("companyNumber", 20, "Company No."),
    text("companyName", 100, "Company Name", read_only=True),
    enum(
        "contactBusinessRelation",
        "Contact Business Relation",
        (" ", "None", "Customer", "Vendor", "Bank Account", "Employee", "Multiple", "Other"),
        read_only=True,
    ),
    *_address(),
    text("phoneNumber", 30, "Phone No."),
    text("mobilePhoneNumber", 30, "Mobile Phone No."),
    text("email", 80, "E-Mail"),
    text("website", 80, "Home Page"),
    code("searchName", 100, "Search Name"),
    boolean("privacyBlocked", "Privacy Blocked"),
    text("taxRegistrationNumber", 20, "VAT Registration No."),
    day("lastInteractionDate", "Date of Last Interaction", read_only=True),
    text("firstName", 30, "First Name"),
    text("middleName", 30, "Middle Name"),
    text("surname", 30, "Surname"),
    text("faxNo", 30, "Fax No."),
    text("pager", 30, "Pager"),
    code("salespersonCode", 20, "Salesperson Code"),
    code("currencyCode", 10, "Currency Code"),
    alternate_keys={"number": ("number",)},
    # A company's persons, found when its name changes (Contact's key "Company No.").
    indexes={"companyNumber": ("companyNumber", "type")},
)

ITEM = table(
    "item",
    "items",
    code("number", 20, "No."),
    text("displayName", 100, "Description"),
    text("displayName2", 50, "Description 2"),
    enum("type", "Type", ("Inventory", "Service", "Non-Inventory")),
    guid("itemCategoryId", "Item Category Id"),
    code("itemCategoryCode", 20, "Item Category Code"),
    boolean("blocked", "Blocked"),
    code("gtin", 14, "GTIN"),
    decimal("inventory", "Inventory", read_only=True),
    decimal("unitPrice", "Unit Price"),
    boolean("priceIncludesTax", "Price Includes VAT"),
    decimal("unitCost", "Unit Cost"),
    guid("taxGroupId", "Tax Group Id"),
    code("taxGroupCode", 20, "Tax Group Code"),
    guid("baseUnitOfMeasureId", "Unit of Measure Id"),
    code("baseUnitOfMeasureCode", 10, "Base Unit of Measure"),
    guid("generalProductPostingGroupId", "Gen. Prod. Posting Group Id"),
    code("generalProductPostingGroupCode", 20, "Gen. Prod. Posting Group"),
    guid("inventoryPostingGroupId", "Inventory Posting Group Id"),
    code("inventoryPostingGroupCode", 20, "Inventory Posting Group"),
    decimal("unitVolume", "Unit Volume"),
    decimal("grossWeight", "Gross Weight"),
    code("vendorNo", 20, "Vendor No."),
    text("vendorItemNo", 50, "Vendor Item No."),
    alternate_keys={"number": ("number",)},
)

CURRENCY = table(
    "currency",
    "currencies",
    code("code", 10, "Code", required=True),
    text("displayName", 30, "Description"),
    text("symbol", 10, "Symbol"),
    text("amountDecimalPlaces", 5, "Amount Decimal Places", default="2:2"),
    decimal("amountRoundingPrecision", "Amount Rounding Precision", default=Decimal("0.01")),
    code("isoCode", 3, "ISO Code"),
    alternate_keys={"code": ("code",)},
)

UNIT_OF_MEASURE = table(
    "unitOfMeasure",
    "unitsOfMeasure",
    code("code", 10, "Code", required=True),
    text("displayName", 50, "Description"),
    code("internationalStandardCode", 10, "International Standard Code"),
    text("symbol", 10, "Symbol"),
    alternate_keys={"code": ("code",)},
)

SALESPERSON_PURCHASER = table(
    "salespersonPurchaser",
    "salespeoplePurchasers",
    code("code", 20, "Code", required=True),
    text("displayName", 50, "Name"),
    text("email", 80, "E-Mail"),
    text("email2", 80, "E-Mail 2"),
    text("phoneNo", 30, "Phone No."),
    text("jobTitle", 30, "Job Title"),
    decimal("commisionPercent", "Commission %"),
    boolean("privacyBlocked", "Privacy Blocked"),
    boolean("blocked", "Blocked"),
    alternate_keys={"code": ("code",)},
)

SALES_INVOICE = table(
    "salesInvoice",
    "salesInvoices",
    code("number", 20, "No."),
    text("externalDocumentNumber", 35, "External Document No."),
    day("invoiceDate", "Document Date"),
    day("postingDate", "Posting Date"),
    day("dueDate", "Due Date"),
    day("promisedPayDate", "Promised Pay Date"),
    text("customerPurchaseOrderReference", 35, "Your Reference"),
    guid("customerId", "Customer Id"),
    code("customerNumber", 20, "Sell-to Customer No."),
    text("customerName", 100, "Sell-to Customer Name"),
    text("billToName", 100, "Bill-to Name"),
    guid("billToCustomerId", "Bill-to Customer Id"),
    code("billToCustomerNumber", 20, "Bill-to Customer No."),
    text("shipToName", 100, "Ship-to Name"),
    text("shipToContact", 100, "Ship-to Contact"),
    *_address("sellTo", caption="Sell-to "),
    *_address("billTo", caption="Bill-to "),
    *_address("shipTo", caption="Ship-to "),
    guid("currencyId", "Currency Id"),
    code("currencyCode", 10, "Currency Code"),
    # Units of the invoice currency per unit of LCY when posted; 0 for an LCY invoice.
    decimal("currencyFactor", "Currency Factor", read_only=True),
    code("shortcutDimension1Code", 20, "Shortcut Dimension 1 Code"),
    code("shortcutDimension2Code", 20, "Shortcut Dimension 2 Code"),
    guid("orderId", "Order Id", read_only=True),
    code("orderNumber", 20, "Order No.", read_only=True),
    guid("paymentTermsId", "Payment Terms Id"),
    guid("shipmentMethodId", "Shipment Method Id"),
    code("salesperson", 20, "Salesperson Code"),
    guid("disputeStatusId", "Dispute Status Id"),
    code("disputeStatus", 10, "Dispute Status"),
    boolean("pricesIncludeTax", "Prices Including VAT"),
    decimal("remainingAmount", "Remaining Amount", read_only=True),
    decimal("discountAmount", "Invoice Discount Amount"),
    boolean("discountAppliedBeforeTax", "Discount Applied Before Tax", read_only=True),
    decimal("totalAmountExcludingTax", "Amount", read_only=True),
    decimal("totalTaxAmount", "Total Tax Amount", read_only=True),
    decimal("totalAmountIncludingTax", "Amount Including VAT", read_only=True),
    enum("status", "Status", INVOICE_STATUSES, read_only=True, default="Draft"),
    text("phoneNumber", 30, "Sell-to Phone No."),
    text("email", 80, "Sell-to E-Mail"),
    day("shipmentDate", "Shipment Date"),
    code("shippingAgentCode", 10, "Shipping Agent Code"),
    code("shipmentMethodCode", 10, "Shipment Method Code"),
    code("paymentTermsCode", 10, "Payment Terms Code"),
    _field("workDescription", AttributeType.MEMO, caption="Work Description"),
    alternate_keys={"number": ("number",)},
)

SALES_INVOICE_LINE = table(
    "salesInvoiceLine",
    "salesInvoiceLines",
    guid("documentId", "Document Id", required=True),
    integer("sequence", "Line No."),
    guid("itemId", "Item Id"),
    guid("accountId", "Account Id"),
    enum("lineType", "Type", LINE_TYPES, default="Item"),
    code("lineObjectNumber", 20, "No."),
    text("description", 100, "Description"),
    text("description2", 50, "Description 2"),
    guid("unitOfMeasureId", "Unit of Measure Id"),
    code("unitOfMeasureCode", 10, "Unit of Measure Code"),
    decimal("quantity", "Quantity"),
    decimal("unitPrice", "Unit Price"),
    decimal("discountAmount", "Line Discount Amount"),
    decimal("discountPercent", "Line Discount %"),
    boolean("discountAppliedBeforeTax", "Discount Applied Before Tax", read_only=True),
    decimal("amountExcludingTax", "Amount", read_only=True),
    code("taxCode", 20, "Tax Group Code"),
    decimal("taxPercent", "VAT %"),
    decimal("totalTaxAmount", "Total Tax Amount", read_only=True),
    decimal("amountIncludingTax", "Amount Including VAT", read_only=True),
    decimal("invoiceDiscountAllocation", "Inv. Discount Amount", read_only=True),
    decimal("netAmount", "Net Amount", read_only=True),
    decimal("netTaxAmount", "Net Tax Amount", read_only=True),
    decimal("netAmountIncludingTax", "Net Amount Including Tax", read_only=True),
    day("shipmentDate", "Shipment Date"),
    guid("itemVariantId", "Item Variant Id"),
    guid("locationId", "Location Id"),
    alternate_keys={"line": ("documentId", "sequence")},
    parent=("salesInvoice", "documentId"),
)

CUSTOMER_PRICE_GROUP = table(
    "customerPriceGroup",
    "customerPriceGroups",
    code("code", 10, "Code", required=True),
    text("description", 100, "Description"),
    boolean("priceIncludesVAT", "Price Includes VAT"),
    boolean("allowInvoiceDisc", "Allow Invoice Disc.", default=True),
    boolean("allowLineDisc", "Allow Line Disc.", default=True),
    alternate_keys={"code": ("code",)},
    api_route="custom",
)

SALES_PRICE = table(
    "salesPrice",
    "salesPrices",
    code("itemNo", 20, "Item No.", required=True),
    enum("salesType", "Sales Type", ("Customer", "Customer Price Group", "All Customers", "Campaign")),
    code("salesCode", 20, "Sales Code"),
    day("startingDate", "Starting Date"),
    day("endingDate", "Ending Date"),
    code("currencyCode", 10, "Currency Code"),
    code("variantCode", 10, "Variant Code"),
    code("unitOfMeasureCode", 10, "Unit of Measure Code"),
    decimal("minimumQuantity", "Minimum Quantity"),
    decimal("unitPrice", "Unit Price"),
    boolean("priceIncludesVAT", "Price Includes VAT"),
    boolean("allowLineDisc", "Allow Line Disc.", default=True),
    boolean("allowInvoiceDisc", "Allow Invoice Disc.", default=True),
    # The Sales Price table's primary key.
    alternate_keys={
        "primaryKey": (
            "itemNo",
            "salesType",
            "salesCode",
            "startingDate",
            "currencyCode",
            "variantCode",
            "unitOfMeasureCode",
            "minimumQuantity",
        )
    },
    api_route="custom",
)

RESOURCE = table(
    "resource",
    "resources",
    code("no", 20, "No."),
    enum("type", "Type", ("Person", "Machine")),
    text("name", 100, "Name"),
    code("searchName", 100, "Search Name"),
    code("baseUnitOfMeasure", 10, "Base Unit of Measure"),
    decimal("unitCost", "Unit Cost"),
    decimal("unitPrice", "Unit Price"),
    code("vendorNo", 20, "Vendor No."),
    decimal("capacity", "Capacity", read_only=True),
    boolean("blocked", "Blocked"),
    code("resourceGroupNo", 20, "Resource Group No."),
    alternate_keys={"no": ("no",)},
    api_route="custom",
)

NO_SERIES = table(
    "noSeries",
    "noSeries",
    code("code", 20, "Code", required=True),
    text("description", 100, "Description"),
    code("startingNo", 20, "Starting No."),
    code("lastNoUsed", 20, "Last No. Used"),
    integer("incrementByNo", "Increment-by No.", default=1),
    alternate_keys={"code": ("code",)},
    api_route="internal",
)

CURRENCY_EXCHANGE_RATE = table(
    "currencyExchangeRate",
    "currencyExchangeRates",
    code("currencyCode", 10, "Currency Code", required=True),
    day("startingDate", "Starting Date"),
    # exchangeRateAmount units of the currency = relationalExchangeRateAmount units of the relational
    # currency (blank: the LCY), e.g. 100 EUR = 108.42 USD.
    decimal("exchangeRateAmount", "Exchange Rate Amount"),
    code("relationalCurrencyCode", 10, "Relational Currency Code"),
    decimal("relationalExchangeRateAmount", "Relational Exch. Rate Amount"),
    alternate_keys={"primaryKey": ("currencyCode", "startingDate")},
)

PAYMENT_TERMS = table(
    "paymentTerm",
    "paymentTerms",
    code("code", 10, "Code", required=True),
    text("displayName", 100, "Description"),
    # DateFormula fields travel as their text ("1M", "8D", "CM").
    text("dueDateCalculation", 32, "Due Date Calculation"),
    text("discountDateCalculation", 32, "Discount Date Calculation"),
    decimal("discountPercent", "Discount %"),
    boolean("calculateDiscountOnCreditMemos", "Calc. Pmt. Disc. on Cr. Memos"),
    alternate_keys={"code": ("code",)},
)

SHIPMENT_METHOD = table(
    "shipmentMethod",
    "shipmentMethods",
    code("code", 10, "Code", required=True),
    text("displayName", 100, "Description"),
    alternate_keys={"code": ("code",)},
)

SHIPPING_AGENT = table(
    "shippingAgent",
    "shippingAgents",
    code("code", 10, "Code", required=True),
    text("name", 50, "Name"),
    text("internetAddress", 250, "Internet Address"),
    alternate_keys={"code": ("code",)},
    api_route="custom",
)

LINK_TO_TABLES = (" ", "Customer", "Vendor", "Bank Account", "Employee")

CONTACT_BUSINESS_RELATION = table(
    "contactBusinessRelation",
    "contactBusinessRelations",
    code("contactNo", 20, "Contact No.", required=True),
    code("businessRelationCode", 10, "Business Relation Code", required=True),
    enum("linkToTable", "Link to Table", LINK_TO_TABLES),
    code("no", 20, "No."),
    alternate_keys={"primaryKey": ("contactNo", "businessRelationCode")},
    # Table 5054's key "Link to Table, No.": how a customer finds its contact (CustCont-Update).
    indexes={"linkToTableNo": ("linkToTable", "no")},
    api_route="custom",
)

# Configuration templates (Config. Template Header 8618 / Line 8619): default field values BC applies to
# a new record, e.g. the "Table Config Template Code" of an integration table mapping (BCICUST).
CONFIG_TEMPLATE_HEADER = table(
    "configTemplateHeader",
    "configTemplates",
    code("code", 10, "Code", required=True),
    text("description", 100, "Description"),
    integer("tableId", "Table ID"),
    text("tableName", 30, "Table Name"),
    alternate_keys={"code": ("code",)},
    api_route="custom",
)

CONFIG_TEMPLATE_LINE = table(
    "configTemplateLine",
    "configTemplateLines",
    code("dataTemplateCode", 10, "Data Template Code", required=True),
    integer("lineNo", "Line No."),
    integer("tableId", "Table ID"),
    integer("fieldId", "Field ID"),
    text("fieldName", 30, "Field Name"),
    text("defaultValue", 2048, "Default Value"),
    alternate_keys={"primaryKey": ("dataTemplateCode", "lineNo")},
    api_route="custom",
)

# The BC primary key of each table: the order an API page lists records in without $orderby.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "company": ("name",),
    "customer": ("number",),
    "vendor": ("number",),
    "contact": ("number",),
    "item": ("number",),
    "currency": ("code",),
    "unitOfMeasure": ("code",),
    "salespersonPurchaser": ("code",),
    "salesInvoice": ("number",),
    "salesInvoiceLine": ("documentId", "sequence"),
    "customerPriceGroup": ("code",),
    "salesPrice": ("itemNo", "salesType", "salesCode", "startingDate", "currencyCode"),
    "resource": ("no",),
    "noSeries": ("code",),
    "currencyExchangeRate": ("currencyCode", "startingDate"),
    "paymentTerm": ("code",),
    "shipmentMethod": ("code",),
    "shippingAgent": ("code",),
    "contactBusinessRelation": ("contactNo", "businessRelationCode"),
    "configTemplateHeader": ("code",),
    "configTemplateLine": ("dataTemplateCode", "lineNo"),
}

# BC's table captions, as error messages name the tables.
CAPTIONS: dict[str, str] = {
    "company": "Company",
    "customer": "Customer",
    "vendor": "Vendor",
    "contact": "Contact",
    "item": "Item",
    "currency": "Currency",
    "unitOfMeasure": "Unit of Measure",
    "salespersonPurchaser": "Salesperson/Purchaser",
    "salesInvoice": "Sales Invoice",
    "salesInvoiceLine": "Sales Invoice Line",
    "customerPriceGroup": "Customer Price Group",
    "salesPrice": "Sales Price",
    "resource": "Resource",
    "noSeries": "No. Series",
    "currencyExchangeRate": "Currency Exchange Rate",
    "paymentTerm": "Payment Terms",
    "shipmentMethod": "Shipment Method",
    "shippingAgent": "Shipping Agent",
    "contactBusinessRelation": "Contact Business Relation",
    "configTemplateHeader": "Config. Template Header",
    "configTemplateLine": "Config. Template Line",
}

SCHEMAS: tuple[EntitySchema, ...] = (
    COMPANY,
    CUSTOMER,
    VENDOR,
    CONTACT,
    ITEM,
    CURRENCY,
    UNIT_OF_MEASURE,
    SALESPERSON_PURCHASER,
    SALES_INVOICE,
    SALES_INVOICE_LINE,
    CUSTOMER_PRICE_GROUP,
    SALES_PRICE,
    RESOURCE,
    NO_SERIES,
    CURRENCY_EXCHANGE_RATE,
    PAYMENT_TERMS,
    SHIPMENT_METHOD,
    SHIPPING_AGENT,
    CONTACT_BUSINESS_RELATION,
    CONFIG_TEMPLATE_HEADER,
    CONFIG_TEMPLATE_LINE,
)
