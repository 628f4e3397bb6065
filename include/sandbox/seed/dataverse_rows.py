"""Dataverse rows of the seed data, keyed by the logical names of `sandbox.dataverse` tables.

Rows are attributed (createdby/modifiedby) to the human owner, never to the application user:
BC's engine ignores rows the integration user wrote, so seed data must look user-made.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.seed import catalog
from sandbox.seed.customers import Account, ContactPerson
from sandbox.seed.determinism import SeedSource, moment, money

Row = dict[str, Any]
ACCOUNT_CUSTOMER = 3  # customertypecode Customer
ACCOUNT_VENDOR = 11  # customertypecode Vendor
DEFAULT_UNIT_GROUP = ("Default Unit", "Primary Unit")  # every Dataverse organization has it
EXCHANGE_RATE_PLACES = Decimal("0.00001")
# Products made in Sales that BC has never seen (type 1 Sales Inventory, 3 Services).
DATAVERSE_PRODUCTS: tuple[tuple[str, str, int, Decimal], ...] = (
    ("SP-WARRANTY-3Y", "Extended Warranty, 3 years", 1, Decimal("249.00")),
    ("SP-INSTALL", "On-site Installation", 3, Decimal("95.00")),
)


def _fullname(first: str, last: str) -> str:
    # Dataverse composes fullname from firstname and lastname (the middle name is not part of it).
    return " ".join(part for part in (first, last) if part)


class DataverseRows:
    """Turns catalog and customer records into rows of the Dataverse tables."""

    def __init__(self, source: SeedSource, *, business_unit_id: str) -> None:
        self._source = source
        self.business_unit_id = business_unit_id
        self._reference_time = source.stream("dataverse-reference")
        self.admin_id = self.user_id(catalog.person_key(catalog.SALES_MANAGER))

    def id(self, table: str, key: object) -> str:
        return self._source.guid(f"dataverse/{table}", key)

    def user_id(self, person_key: str) -> str:
        return self.id("systemuser", person_key)

    def currency_id(self, iso_code: str) -> str:
        return self.id("transactioncurrency", iso_code)

    def _audit(self, by: str, modified: datetime | None = None) -> Row:
        modified = modified or moment(self._reference_time, newest_days_ago=400)
        created = modified - timedelta(days=self._reference_time.randint(0, 60))
        return {"createdon": created, "modifiedon": modified, "createdby": by, "modifiedby": by}

    # -- organization and reference tables -----------------------------------------------------

    def users(self, people: Iterable[catalog.Salesperson]) -> list[Row]:
        rows = []
        for person in people:
            if not person.on_dataverse:
                continue
            user_id = self.user_id(catalog.person_key(person))
            rows.append(
                {
                    "systemuserid": user_id,
                    "firstname": person.first_name,
                    "lastname": person.last_name,
                    "fullname": _fullname(person.first_name, person.last_name),
                    "domainname": person.email,
                    "internalemailaddress": person.email,
                    "mobilephone": person.phone,
                    "title": person.job_title,
                    "isdisabled": person.disabled,
                    "islicensed": person.licensed,
                    "azureactivedirectoryobjectid": self.id("entra-user", catalog.person_key(person)),
                    "businessunitid": self.business_unit_id,
                    **self._audit(self.admin_id),
                }
            )
        return rows

    def currencies(self) -> list[Row]:
        rows = []
        for currency in catalog.CURRENCIES:
            if not currency.on_dataverse:
                continue
            # Dataverse rates are units of this currency per unit of the base currency (USD).
            rate = (Decimal(1) / (currency.lcy_per_unit or Decimal(1))).quantize(EXCHANGE_RATE_PLACES)
            rows.append(
                {
                    "transactioncurrencyid": self.currency_id(currency.code),
                    "currencyname": currency.name,
                    "isocurrencycode": currency.code,
                    "currencysymbol": currency.symbol,
                    "currencyprecision": 2,
                    "exchangerate": rate,
                    **self._audit(self.admin_id),
                }
            )
        return rows

    def unit_groups(self) -> tuple[list[Row], list[Row]]:
        """Unit groups with their single base unit: the default group and "NAV <code>" ones."""
        groups = [DEFAULT_UNIT_GROUP] + [(f"NAV {u.code}", u.code) for u in catalog.UNITS if u.on_dataverse]
        schedules, units = [], []
        for name, base in groups:
            schedule_id, unit_id = self.id("uomschedule", name), self.id("uom", name)
            audit = self._audit(self.admin_id)
            schedules.append({"uomscheduleid": schedule_id, "name": name, "baseuomname": base, **audit})
            units.append(
                {
                    "uomid": unit_id,
                    "name": base,
                    "uomscheduleid": schedule_id,
                    "baseuom": unit_id,
                    "quantity": Decimal(1),
                    "isschedulebaseuom": True,
                    **audit,
                }
            )
        return schedules, units

    def _unit_of(self, code: str) -> tuple[str, str]:
        """(unit group id, unit id) for a BC unit code, or the default group when Sales lacks it."""
        on_dataverse = any(u.code == code and u.on_dataverse for u in catalog.UNITS)
        name = f"NAV {code}" if on_dataverse else DEFAULT_UNIT_GROUP[0]
        return self.id("uomschedule", name), self.id("uom", name)

    def price_lists(self) -> list[Row]:
        names = list(catalog.DATAVERSE_PRICE_LISTS) + [
            (group.code, group.description) for group in catalog.PRICE_GROUPS if group.on_dataverse
        ]
        return [
            {
                "pricelevelid": self.id("pricelevel", name),
                "name": name,
                "description": description,
                "transactioncurrencyid": self.currency_id(catalog.LCY),
                **self._audit(self.admin_id),
            }
            for name, description in names
        ]

    def products(self, items: Iterable[catalog.Item]) -> tuple[list[Row], list[Row]]:
        """Products that already exist in Sales, their entries on the default price list, and the
        entries of the group price lists that exist in Sales."""
        items = tuple(items)
        specs: list[tuple[str, str, int, Decimal, Decimal, Decimal, str]] = []
        for item in items:
            if item.on_dataverse:
                stock = max(item.inventory, Decimal(0))
                specs.append(
                    (item.number, item.description, 1, item.unit_price, item.unit_cost, stock, item.base_unit)
                )
        for resource in catalog.RESOURCES:
            if resource.on_dataverse:
                specs.append(
                    (
                        resource.number,
                        resource.name,
                        3,
                        resource.unit_price,
                        resource.unit_cost,
                        resource.capacity,
                        resource.base_unit,
                    )
                )
        for number, name, kind, price in DATAVERSE_PRODUCTS:
            specs.append((number, name, kind, price, money(price * Decimal("0.6")), Decimal(0), "PCS"))
        default_list = self.id("pricelevel", catalog.DATAVERSE_PRICE_LISTS[0][0])
        products, entries = [], []
        for number, name, kind, price, cost, on_hand, unit in specs:
            schedule_id, unit_id = self._unit_of(unit)
            product_id = self.id("product", number)
            audit = self._audit(self.admin_id)
            products.append(
                {
                    "productid": product_id,
                    "name": name,
                    "productnumber": number,
                    "producttypecode": kind,
                    "price": price,
                    "standardcost": cost,
                    "currentcost": cost,
                    "quantityonhand": on_hand,
                    "quantitydecimal": 2,
                    "defaultuomscheduleid": schedule_id,
                    "defaultuomid": unit_id,
                    "pricelevelid": default_list,
                    "transactioncurrencyid": self.currency_id(catalog.LCY),
                    **audit,
                }
            )
            entries.append(
                {
                    "productpricelevelid": self.id("productpricelevel", number),
                    "pricelevelid": default_list,
                    "productid": product_id,
                    "productnumber": number,
                    "uomid": unit_id,
                    "uomscheduleid": schedule_id,
                    "amount": price,
                    "pricingmethodcode": 1,
                    "transactioncurrencyid": self.currency_id(catalog.LCY),
                    **audit,
                }
            )
        return products, entries + self._group_price_list_items(items)

    def _group_price_list_items(self, items: Iterable[catalog.Item]) -> list[Row]:
        """Items a Sales user put on the group price lists that already exist in Sales, at last year's
        prices (3% below BC's): products that exist in Sales, in units whose "NAV <code>" group does."""
        units_in_sales = {unit.code for unit in catalog.UNITS if unit.on_dataverse}
        entries = []
        for group in catalog.PRICE_GROUPS:
            if not (group.on_dataverse and group.priced):
                continue
            price_list = self.id("pricelevel", group.code)
            for item in catalog.priced_items(tuple(items)):
                if not item.on_dataverse or item.base_unit not in units_in_sales:
                    continue
                schedule_id, unit_id = self._unit_of(item.base_unit)
                entries.append(
                    {
                        "productpricelevelid": self.id("productpricelevel", f"{group.code}/{item.number}"),
                        "pricelevelid": price_list,
                        "productid": self.id("product", item.number),
                        "productnumber": item.number,
                        "uomid": unit_id,
                        "uomscheduleid": schedule_id,
                        "amount": money(item.unit_price * (1 - group.discount) * Decimal("0.97")),
                        "pricingmethodcode": 1,
                        "transactioncurrencyid": self.currency_id(catalog.LCY),
                        **self._audit(self.admin_id),
                    }
                )
        return entries

    # -- accounts ------------------------------------------------------------------------------

    def account(self, account: Account) -> tuple[Row, list[Row]]:
        """An account and its contacts; the first contact is the account's primary contact."""
        owner = self.user_id(catalog.person_key(account.owner))
        company, place = account.company, account.company.address
        account_id = self.id("account", account.key)
        contacts = [self._contact(account_id, owner, account, person) for person in account.persons]
        row: Row = {
            "accountid": account_id,
            "name": company.name,
            "address1_line1": place.line1,
            "address1_line2": place.line2,
            "address1_city": place.city,
            "address1_stateorprovince": place.county,
            "address1_postalcode": place.post_code,
            "address1_country": place.country,
            "address1_primarycontactname": account.persons[0].person.full_name
            if account.persons
            else account.contact_name,
            "customertypecode": ACCOUNT_VENDOR if account.vendor else ACCOUNT_CUSTOMER,
            "emailaddress1": company.email,
            "fax": company.fax,
            "telephone1": place.phone,
            "websiteurl": company.website,
            "creditlimit": account.credit_limit,
            "primarycontactid": contacts[0]["contactid"] if contacts else None,
            "ownerid": owner,
            "transactioncurrencyid": self.currency_id(account.currency),
            "statecode": 1 if account.inactive else 0,
            "statuscode": 2 if account.inactive else 1,
            **self._audit(owner, account.modified),
        }
        return row, contacts

    def _contact(self, account_id: str, owner: str, account: Account, contact: ContactPerson) -> Row:
        who, place = contact.person, account.company.address
        return {
            "contactid": self.id("contact", contact.key),
            "firstname": who.first,
            "middlename": who.middle,
            "lastname": who.last,
            "fullname": _fullname(who.first, who.last),
            "jobtitle": contact.job_title,
            "address1_line1": place.line1,
            "address1_line2": place.line2,
            "address1_city": place.city,
            "address1_stateorprovince": place.county,
            "address1_postalcode": place.post_code,
            "address1_country": place.country,
            "emailaddress1": contact.email,
            "telephone1": contact.phone,
            "mobilephone": contact.mobile,
            "parentcustomerid": account_id,
            "ownerid": owner,
            "transactioncurrencyid": self.currency_id(account.currency),
            **self._audit(owner, account.modified),
        }

    def invoice(self, account: Account, number: int) -> tuple[Row, list[Row]]:
        """An invoice made in Sales for an account BC does not know, with one or two lines."""
        owner = self.user_id(catalog.person_key(account.owner))
        invoice_id = self.id("invoice", account.key)
        place = account.company.address
        audit = self._audit(owner, account.modified)
        lines = []
        for position, (product_number, name, _, price) in enumerate(DATAVERSE_PRODUCTS[: 1 + number % 2]):
            quantity = Decimal(1 + number % 3)
            amount = money(price * quantity)
            lines.append(
                {
                    "invoicedetailid": self.id("invoicedetail", f"{account.key}/{position}"),
                    "invoiceid": invoice_id,
                    "productid": self.id("product", product_number),
                    "uomid": self._unit_of("PCS")[1],
                    "productdescription": name,
                    "quantity": quantity,
                    "lineitemnumber": position + 1,
                    "priceperunit": price,
                    "baseamount": amount,
                    "extendedamount": amount,
                    "tax": Decimal(0),
                    "transactioncurrencyid": self.currency_id(catalog.LCY),
                    "exchangerate": Decimal(1),
                    **audit,
                }
            )
        total = sum((line["extendedamount"] for line in lines), Decimal(0))
        header = {
            "invoiceid": invoice_id,
            "name": f"Sales invoice for {account.company.name}"[:300],
            "invoicenumber": f"INV-{number:05d}-S4N7D8",
            "customerid": self.id("account", account.key),
            "pricelevelid": self.id("pricelevel", catalog.DATAVERSE_PRICE_LISTS[0][0]),
            "billto_name": account.company.name[:200],
            "billto_line1": place.line1,
            "billto_city": place.city,
            "billto_postalcode": place.post_code,
            "billto_country": place.country,
            "totalamount": total,
            "totalamountlessfreight": total,
            "totallineitemamount": total,
            "totaltax": Decimal(0),
            "ownerid": owner,
            "transactioncurrencyid": self.currency_id(catalog.LCY),
            "statecode": 0,
            "statuscode": 4,  # Billed
            **audit,
        }
        return header, lines
