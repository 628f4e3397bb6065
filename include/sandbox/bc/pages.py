"""The API pages: what each route exposes of the BC tables.

As in BC, a page is a projection of one table (route + entity set + exposed fields), so the standard
`customers` page and our custom `customers` page show the same records. A page field names its table
attribute; it differs from the property only where a page renames a field (custom pages follow the
caption rule, e.g. `homePage` over the table's `website`). Custom pages (the API-page extension in
docs/bc-custom-api.md) cover what the standard API v2.0 lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from sandbox.bc import tables as t
from sandbox.storage.schema import Attribute, EntitySchema


@dataclass(frozen=True)
class ApiRoute:
    """`/api/{publisher}/{group}/{version}`, or `/api/v2.0` for the standard API."""

    name: str  # "v2.0" / "custom" (EntitySchema.api_route)
    path: str  # below /v2.0/{tenant}/{environment}/
    namespace: str = "Microsoft.NAV"


STANDARD = ApiRoute("v2.0", "api/v2.0")
CUSTOM = ApiRoute("custom", "api/bcsync/sync/v1.0")
ROUTES = (STANDARD, CUSTOM)


@dataclass(frozen=True)
class PageField:
    name: str  # JSON property on the page
    attribute: str  # the table attribute it shows


@dataclass(frozen=True)
class Navigation:
    """`$expand` target: rows of page `target` whose `remote` property equals this row's `local`."""

    name: str
    target: str  # entity set on the same route
    local: str
    remote: str
    many: bool = False


@dataclass(frozen=True)
class ApiPage:
    route: ApiRoute
    entity_name: str
    entity_set: str
    table: EntitySchema
    fields: tuple[PageField, ...]
    caption: str  # the table caption BC names in errors ("The Customer does not exist...")
    page_id: int  # the AL page object id (documentation, $metadata annotation)
    navigations: tuple[Navigation, ...] = ()
    editable: bool = True  # False: a read-only page (no POST/PATCH/DELETE)
    parent: str | None = None  # entity set of the page this one nests under (salesInvoiceLines)
    parent_field: str | None = None  # the property holding the parent's id

    @property
    def takes_chosen_id(self) -> bool:
        """Whether a POST may set `id` (the SystemId). The standard pages declare `id` with
        `Editable = false`, so BC refuses it there; our extension's pages leave `id` editable and
        insert with `Rec.Insert(true, true)`, and BC keeps a SystemId given in a POST (BC 2020 wave 2+).
        """
        return self.route is CUSTOM and self.editable

    @cached_property
    def by_name(self) -> dict[str, PageField]:
        return {f.name: f for f in self.fields}

    def attribute(self, page_field: PageField) -> Attribute:
        attribute = self.table.attribute(page_field.attribute)
        if attribute is None:  # caught by the import-time check below
            raise LookupError(f"{self.entity_set}.{page_field.name}: no attribute {page_field.attribute}")
        return attribute

    @property
    def qualified_type(self) -> str:
        return f"{self.route.namespace}.{self.entity_name}"

    def navigation(self, name: str) -> Navigation | None:
        return next((n for n in self.navigations if n.name == name), None)

    @cached_property
    def view(self) -> EntitySchema:
        """The page as an entity of its own (attributes named as the page names them), for query
        validation and `$metadata`; reads and writes still go to `table`."""
        attributes = []
        for page_field in self.fields:
            attribute = self.attribute(page_field)
            read_only = attribute.read_only or not self.editable
            attributes.append(replace(attribute, name=page_field.name, read_only=read_only))
        return replace(
            self.table,
            logical_name=self.qualified_type,
            set_name=self.entity_set,
            attributes=tuple(attributes),
            modified_on="lastModifiedDateTime",
            alternate_keys={},
        )


def _all(table: EntitySchema, *, hidden: tuple[str, ...] = ()) -> tuple[PageField, ...]:
    """Every table field under its own name, minus `hidden`."""
    return tuple(PageField(a.name, a.name) for a in table.attributes if a.name not in hidden)


def _pick(*names: str | tuple[str, str]) -> tuple[PageField, ...]:
    """Named table fields in page order; a (property, attribute) pair renames one."""
    return tuple(PageField(name, name) if isinstance(name, str) else PageField(*name) for name in names)


_CUSTOMER_EXTRAS = (
    "contact",
    "faxNo",
    "primaryContactNo",
    "shippingAgentCode",
    "shipmentMethodCode",
    "paymentTermsCode",
    "customerPriceGroup",
)
# What a vendor has of the customer page's extras (no price group), plus the purchaser code.
_VENDOR_EXTRAS = (
    "purchaserCode",
    "contact",
    "faxNo",
    "primaryContactNo",
    "shippingAgentCode",
    "shipmentMethodCode",
    "paymentTermsCode",
)
_STATISTICS = (
    "balanceLCY",
    "outstandingOrdersLCY",
    "shippedNotInvoicedLCY",
    "outstandingInvoicesLCY",
    "outstandingServOrdersLCY",
    "servShippedNotInvoicedLCY",
    "outstandingServInvoicesLCY",
    "invoicedPrepmtAmountLCY",
    "totalAmountLCY",
    "overdueAmountsLCY",
    "overdueAmountsAsOf",
    "salesLCY",
    "lastActivityDateTime",
)
_CONTACT_EXTRAS = ("firstName", "middleName", "surname", "faxNo", "pager", "salespersonCode", "currencyCode")
_ITEM_EXTRAS = ("unitVolume", "grossWeight", "vendorNo", "vendorItemNo")
_INVOICE_EXTRAS = (
    "shipmentDate",
    "shippingAgentCode",
    "shipmentMethodCode",
    "paymentTermsCode",
    "workDescription",
    "currencyFactor",
)
_SYSTEM = ("id", "lastModifiedDateTime")
_NO = ("no", "number")  # caption rule: "No." → no
_NAME = ("name", "displayName")

PAGES: tuple[ApiPage, ...] = (
    # -- standard API v2.0 (property names as in api-protocols.md B.3) ------------------------------
    ApiPage(STANDARD, "company", "companies", t.COMPANY, _all(t.COMPANY), "Company", 30000, editable=False),
    ApiPage(
        STANDARD,
        "customer",
        "customers",
        t.CUSTOMER,
        _all(t.CUSTOMER, hidden=_CUSTOMER_EXTRAS + _STATISTICS),
        "Customer",
        30009,
        navigations=(Navigation("currency", "currencies", "currencyId", "id"),),
    ),
    ApiPage(
        STANDARD,
        "vendor",
        "vendors",
        t.VENDOR,
        _all(t.VENDOR, hidden=_VENDOR_EXTRAS),
        "Vendor",
        30010,
        navigations=(
            Navigation("currency", "currencies", "currencyId", "id"),
            Navigation("paymentTerm", "paymentTerms", "paymentTermsId", "id"),
        ),
    ),
    ApiPage(
        STANDARD, "contact", "contacts", t.CONTACT, _all(t.CONTACT, hidden=_CONTACT_EXTRAS), "Contact", 30071
    ),
    ApiPage(
        STANDARD,
        "item",
        "items",
        t.ITEM,
        _all(t.ITEM, hidden=_ITEM_EXTRAS),
        "Item",
        30008,
        navigations=(Navigation("unitOfMeasure", "unitsOfMeasure", "baseUnitOfMeasureId", "id"),),
    ),
    ApiPage(
        STANDARD,
        "currency",
        "currencies",
        t.CURRENCY,
        _all(t.CURRENCY, hidden=("isoCode",)),
        "Currency",
        30032,
    ),
    ApiPage(
        STANDARD,
        "unitOfMeasure",
        "unitsOfMeasure",
        t.UNIT_OF_MEASURE,
        _all(t.UNIT_OF_MEASURE),
        "Unit of Measure",
        30030,
    ),
    ApiPage(
        STANDARD,
        "salespersonPurchaser",
        "salespeoplePurchasers",
        t.SALESPERSON_PURCHASER,
        _all(t.SALESPERSON_PURCHASER),
        "Salesperson/Purchaser",
        30075,
    ),
    ApiPage(
        STANDARD,
        "salesInvoice",
        "salesInvoices",
        t.SALES_INVOICE,
        _all(t.SALES_INVOICE, hidden=_INVOICE_EXTRAS),
        "Sales Invoice",
        30012,
        navigations=(
            Navigation("salesInvoiceLines", "salesInvoiceLines", "id", "documentId", many=True),
            Navigation("customer", "customers", "customerId", "id"),
            Navigation("currency", "currencies", "currencyId", "id"),
        ),
    ),
    ApiPage(
        STANDARD,
        "salesInvoiceLine",
        "salesInvoiceLines",
        t.SALES_INVOICE_LINE,
        _all(t.SALES_INVOICE_LINE, hidden=("lastModifiedDateTime",)),
        "Sales Invoice Line",
        30043,
        navigations=(Navigation("item", "items", "itemId", "id"),),
        parent="salesInvoices",
        parent_field="documentId",
    ),
    # Page 30085 is read-only in BC (InsertAllowed/ModifyAllowed/DeleteAllowed = false): rates are
    # maintained in BC itself, the API only reads them.
    ApiPage(
        STANDARD,
        "currencyExchangeRate",
        "currencyExchangeRates",
        t.CURRENCY_EXCHANGE_RATE,
        _all(t.CURRENCY_EXCHANGE_RATE),
        "Currency Exchange Rate",
        30085,
        editable=False,
    ),
    ApiPage(
        STANDARD,
        "paymentTerm",
        "paymentTerms",
        t.PAYMENT_TERMS,
        _all(t.PAYMENT_TERMS),
        "Payment Terms",
        30023,
    ),
    ApiPage(
        STANDARD,
        "shipmentMethod",
        "shipmentMethods",
        t.SHIPMENT_METHOD,
        _all(t.SHIPMENT_METHOD),
        "Shipment Method",
        30024,
    ),
    # -- custom API bcsync/sync/v1.0 (caption-rule property names) -------------------------------------
    ApiPage(CUSTOM, "company", "companies", t.COMPANY, _all(t.COMPANY), "Company", 50099, editable=False),
    ApiPage(
        CUSTOM,
        "customer",
        "customers",
        t.CUSTOMER,
        _pick(*_SYSTEM, _NO, _NAME, *_CUSTOMER_EXTRAS, ("homePage", "website")),
        "Customer",
        50100,
    ),
    ApiPage(
        CUSTOM,
        "customerStatistic",
        "customerStatistics",
        t.CUSTOMER,
        _pick(*_SYSTEM, _NO, _NAME, ("creditLimitLCY", "creditLimit"), *_STATISTICS),
        "Customer",
        50101,
        editable=False,
    ),
    ApiPage(
        CUSTOM,
        "contact",
        "contacts",
        t.CONTACT,
        _pick(*_SYSTEM, _NO, _NAME, *_CONTACT_EXTRAS, ("homePage", "website")),
        "Contact",
        50102,
    ),
    ApiPage(
        CUSTOM,
        "item",
        "items",
        t.ITEM,
        _pick(*_SYSTEM, _NO, ("description", "displayName"), *_ITEM_EXTRAS),
        "Item",
        50103,
    ),
    ApiPage(
        CUSTOM,
        "currency",
        "currencies",
        t.CURRENCY,
        _pick(*_SYSTEM, "code", ("description", "displayName"), "isoCode", "symbol"),
        "Currency",
        50104,
    ),
    ApiPage(
        CUSTOM,
        "salesInvoice",
        "salesInvoices",
        t.SALES_INVOICE,
        _pick(*_SYSTEM, _NO, "status", *_INVOICE_EXTRAS),
        "Sales Invoice",
        50105,
    ),
    ApiPage(
        CUSTOM,
        "customerPriceGroup",
        "customerPriceGroups",
        t.CUSTOMER_PRICE_GROUP,
        _all(t.CUSTOMER_PRICE_GROUP),
        "Customer Price Group",
        50106,
    ),
    ApiPage(CUSTOM, "salesPrice", "salesPrices", t.SALES_PRICE, _all(t.SALES_PRICE), "Sales Price", 50107),
    ApiPage(CUSTOM, "resource", "resources", t.RESOURCE, _all(t.RESOURCE), "Resource", 50108),
    ApiPage(
        CUSTOM,
        "shippingAgent",
        "shippingAgents",
        t.SHIPPING_AGENT,
        _all(t.SHIPPING_AGENT),
        "Shipping Agent",
        50109,
    ),
    ApiPage(
        CUSTOM,
        "contactBusinessRelation",
        "contactBusinessRelations",
        t.CONTACT_BUSINESS_RELATION,
        _all(t.CONTACT_BUSINESS_RELATION),
        "Contact Business Relation",
        50110,
    ),
    # Configuration templates, read-only as BC's own configuration pages keep them (bcsync reads the
    # mapping's "Table Config Template Code" here).
    ApiPage(
        CUSTOM,
        "configTemplate",
        "configTemplates",
        t.CONFIG_TEMPLATE_HEADER,
        _all(t.CONFIG_TEMPLATE_HEADER),
        "Config. Template Header",
        50112,
        editable=False,
    ),
    ApiPage(
        CUSTOM,
        "configTemplateLine",
        "configTemplateLines",
        t.CONFIG_TEMPLATE_LINE,
        _all(t.CONFIG_TEMPLATE_LINE),
        "Config. Template Line",
        50113,
        editable=False,
    ),
    ApiPage(
        CUSTOM,
        "vendor",
        "vendors",
        t.VENDOR,
        _pick(*_SYSTEM, _NO, _NAME, *_VENDOR_EXTRAS, ("homePage", "website")),
        "Vendor",
        50111,
    ),
)


@dataclass(frozen=True, eq=False)  # identity hash: one index per route
class PageIndex:
    """The pages of one route by entity set."""

    route: ApiRoute
    pages: dict[str, ApiPage] = field(default_factory=dict)

    def page(self, entity_set: str) -> ApiPage | None:
        return self.pages.get(entity_set)


def index_pages(pages: tuple[ApiPage, ...] = PAGES) -> dict[str, PageIndex]:
    """Pages by route path, checking every page field names a real table attribute."""
    indexes = {route.path: PageIndex(route) for route in ROUTES}
    for page in pages:
        for page_field in page.fields:
            if page.table.attribute(page_field.attribute) is None:
                raise ValueError(f"page {page.entity_set}: field {page_field.name} names no attribute")
        for navigation in page.navigations:
            if navigation.local not in page.by_name:
                raise ValueError(
                    f"page {page.entity_set}: navigation {navigation.name} needs {navigation.local}"
                )
        indexes[page.route.path].pages[page.entity_set] = page
    return indexes


PAGE_INDEXES = index_pages()
