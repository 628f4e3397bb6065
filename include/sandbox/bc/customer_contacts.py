"""CustCont-Update: the company contact BC keeps for every customer, as its Customer triggers do.

With Marketing Setup's "Bus. Rel. Code for Customers" set (CUST), inserting a customer creates a
Company contact (numbered from the CONT series, with the customer's name, address and communication
fields) and a Contact Business Relation linking the two; changing those customer fields changes the
contact; renaming the customer moves the relation; deleting the customer deletes the relation and
leaves the contact without one. Everything runs in the caller's unit of work, so a rolled-back
request or snapshot `$batch` rolls the contact back with the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sandbox.bc import numbering
from sandbox.bc import tables as t
from sandbox.storage.repository import Repository, Row, UnitOfWork

BUSINESS_RELATION_CODE = "CUST"  # Marketing Setup "Bus. Rel. Code for Customers"
LINK_TO_TABLE = "Customer"

# Customer fields BC transfers to the company contact (same attribute names on both tables).
SHARED_FIELDS: tuple[str, ...] = tuple(
    name
    for name in (
        "displayName",
        "addressLine1",
        "addressLine2",
        "city",
        "state",
        "country",
        "postalCode",
        "phoneNumber",
        "email",
        "website",
        "faxNo",
        "salespersonCode",
        "currencyCode",
    )
    if t.CUSTOMER.attribute(name) is not None and t.CONTACT.attribute(name) is not None
)
_SEARCH_NAME_LENGTH = 100  # Contact."Search Name" is Code[100]


def _search_name(name: str) -> str:
    return name.upper()[:_SEARCH_NAME_LENGTH]


def on_insert(
    work: UnitOfWork, repository: Repository, company: str, customers: Sequence[Row], actor: str | None
) -> None:
    """A company contact and a CUST business relation for each newly inserted customer."""
    if not customers:
        return
    numbers = numbering.next_numbers(work, t.CONTACT, repository.table(t.CONTACT), company, len(customers))
    contacts: list[dict[str, Any]] = []
    relations: list[dict[str, Any]] = []
    for customer, number in zip(customers, numbers, strict=True):
        shared = {name: customer[name] for name in SHARED_FIELDS}
        contacts.append(
            {
                **shared,
                "number": number,
                "type": "Company",
                "companyNumber": number,  # a company contact is its own company
                "companyName": customer["displayName"],
                "searchName": _search_name(customer["displayName"]),
                "contactBusinessRelation": LINK_TO_TABLE,
            }
        )
        relations.append(
            {
                "contactNo": number,
                "businessRelationCode": BUSINESS_RELATION_CODE,
                "linkToTable": LINK_TO_TABLE,
                "no": customer["number"],
            }
        )
    # as_system: companyName and contactBusinessRelation are read-only to API clients, not to BC.
    work.insert_many(t.CONTACT, contacts, actor=actor, company=company, as_system=True)
    work.insert_many(t.CONTACT_BUSINESS_RELATION, relations, actor=actor, company=company, as_system=True)


def on_modify(work: UnitOfWork, company: str, before: Row, after: Row, actor: str | None) -> None:
    """Carry a customer's changed name, address and communication fields to its company contact."""
    changed = {name: after[name] for name in SHARED_FIELDS if after[name] != before[name]}
    renamed = after["number"] != before["number"]
    if not (changed or renamed):
        return
    relations = _relations(work, company, before["number"])
    if renamed:
        # BC's OnRename moves the relation to the new customer number.
        for relation in relations:
            work.update(t.CONTACT_BUSINESS_RELATION, relation["id"], {"no": after["number"]}, company=company)
    if not changed or not relations:
        return  # BC's OnModify does nothing for a customer without a company contact
    contact = _contact(work, company, relations[0]["contactNo"])
    if contact is None:
        return
    values = dict(changed)
    if "displayName" in changed:
        values["companyName"] = changed["displayName"]
        # Contact.Validate(Name) keeps a search name the user typed, refreshes one derived from the name.
        if contact["searchName"] in ("", _search_name(contact["displayName"])):
            values["searchName"] = _search_name(changed["displayName"])
    work.update(t.CONTACT, contact["id"], values, actor=actor, company=company, as_system=True)
    if "displayName" in changed:
        _rename_persons(work, company, contact["number"], changed["displayName"], actor)


def on_delete(work: UnitOfWork, company: str, customer: Row) -> None:
    """Delete the customer's business relations; the contacts stay, now without a relation."""
    for relation in _relations(work, company, customer["number"]):
        work.delete(t.CONTACT_BUSINESS_RELATION, relation["id"], company=company)
        contact = _contact(work, company, relation["contactNo"])
        if contact is not None and not work.find(
            t.CONTACT_BUSINESS_RELATION, {"contactNo": contact["number"]}, company=company
        ):
            work.update(
                t.CONTACT, contact["id"], {"contactBusinessRelation": "None"}, company=company, as_system=True
            )


def _relations(work: UnitOfWork, company: str, customer_number: str) -> list[Row]:
    return work.find(
        t.CONTACT_BUSINESS_RELATION,
        {"linkToTable": LINK_TO_TABLE, "no": customer_number, "businessRelationCode": BUSINESS_RELATION_CODE},
        company=company,
    )


def _contact(work: UnitOfWork, company: str, number: str) -> Row | None:
    found = work.find(t.CONTACT, {"number": number}, company=company)
    return found[0] if found else None


def _rename_persons(
    work: UnitOfWork, company: str, company_number: str, name: str, actor: str | None
) -> None:
    """A company's persons show its name (BC's Contact OnModify updates their Company Name)."""
    for person in work.find(t.CONTACT, {"companyNumber": company_number, "type": "Person"}, company=company):
        work.update(
            t.CONTACT, person["id"], {"companyName": name}, actor=actor, company=company, as_system=True
        )
