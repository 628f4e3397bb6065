"""Table relations the API pages validate, as BC's OnValidate triggers do.

A relation ties a code field (and, where the table has one, its `...Id` twin) to a record of another
table: writing either one looks the record up, sets the other, and copies the fields BC copies (an
invoice takes the customer's name and address). A blank code clears the id to the empty GUID. A code
or id that names no record is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.bc import tables as t
from sandbox.bc.errors import BCError, record_not_found
from sandbox.storage.repository import Row, UnitOfWork
from sandbox.storage.schema import EntitySchema

_ADDRESS = ("AddressLine1", "AddressLine2", "City", "State", "Country")


def _sell_to(prefix: str) -> dict[str, str]:
    copies = {"displayName": f"{prefix}Name" if prefix != "sellTo" else "customerName"}
    copies |= {f"{part[0].lower()}{part[1:]}": f"{prefix}{part}" for part in _ADDRESS}
    copies["postalCode"] = f"{prefix}PostCode"
    return copies


@dataclass(frozen=True)
class Relation:
    table: EntitySchema
    code: str  # the code field of `table`
    target: EntitySchema
    target_code: str  # the field of `target` the code names
    id: str | None = None  # the GUID twin of `code` in `table`, if any
    copies: Mapping[str, str] = field(default_factory=dict)  # target field -> field of `table`
    applies: Callable[[Mapping[str, Any]], bool] = lambda record: True


RELATIONS: tuple[Relation, ...] = (
    Relation(t.CUSTOMER, "currencyCode", t.CURRENCY, "code", id="currencyId"),
    Relation(t.CUSTOMER, "salespersonCode", t.SALESPERSON_PURCHASER, "code"),
    Relation(t.CUSTOMER, "customerPriceGroup", t.CUSTOMER_PRICE_GROUP, "code"),
    Relation(t.VENDOR, "currencyCode", t.CURRENCY, "code", id="currencyId"),
    Relation(t.VENDOR, "purchaserCode", t.SALESPERSON_PURCHASER, "code"),
    Relation(t.CONTACT, "companyNumber", t.CONTACT, "number", copies={"displayName": "companyName"}),
    Relation(t.CONTACT, "salespersonCode", t.SALESPERSON_PURCHASER, "code"),
    Relation(t.CONTACT, "currencyCode", t.CURRENCY, "code"),
    Relation(t.ITEM, "baseUnitOfMeasureCode", t.UNIT_OF_MEASURE, "code", id="baseUnitOfMeasureId"),
    Relation(
        t.SALES_INVOICE,
        "customerNumber",
        t.CUSTOMER,
        "number",
        id="customerId",
        copies=_sell_to("sellTo") | {"phoneNumber": "phoneNumber", "email": "email"},
    ),
    Relation(
        t.SALES_INVOICE,
        "billToCustomerNumber",
        t.CUSTOMER,
        "number",
        id="billToCustomerId",
        copies=_sell_to("billTo"),
    ),
    Relation(t.SALES_INVOICE, "currencyCode", t.CURRENCY, "code", id="currencyId"),
    Relation(t.SALES_INVOICE, "salesperson", t.SALESPERSON_PURCHASER, "code"),
    Relation(
        t.SALES_INVOICE_LINE,
        "lineObjectNumber",
        t.ITEM,
        "number",
        id="itemId",
        copies={
            "displayName": "description",
            "baseUnitOfMeasureCode": "unitOfMeasureCode",
            "unitPrice": "unitPrice",
        },
        applies=lambda line: line.get("lineType", "Item") == "Item",
    ),
    Relation(t.SALES_PRICE, "itemNo", t.ITEM, "number"),
)


def validate_relations(
    work: UnitOfWork, table: EntitySchema, company: str, values: dict[str, Any], current: Row | None
) -> dict[str, Any]:
    """`values` completed by every relation of `table` the client touched (code or id)."""
    record = {**(current or {}), **values}
    completed = dict(values)
    for relation in RELATIONS:
        if relation.table is not table or not relation.applies(record):
            continue
        by_code = relation.code in values
        by_id = relation.id is not None and relation.id in values and not by_code
        if not (by_code or by_id):
            continue
        target = _lookup(work, relation, company, values, by_code)
        if target is None:
            if relation.id is not None:
                completed[relation.id] = t.EMPTY_GUID
            completed[relation.code] = ""
            continue
        completed[relation.code] = target[relation.target_code]
        if relation.id is not None:
            completed[relation.id] = target["id"]
        for source, destination in relation.copies.items():
            if destination not in values:  # what the client sent wins over what BC would copy
                completed[destination] = target[source]
    return completed


def _lookup(
    work: UnitOfWork, relation: Relation, company: str, values: Mapping[str, Any], by_code: bool
) -> Row | None:
    if by_code:
        code = values[relation.code]
        if code == "":
            return None
        found = work.find(relation.target, {relation.target_code: code}, company=company)
        if not found:
            table = t.CAPTIONS[relation.table.logical_name]
            raise BCError(
                400,
                "Application_FieldValidationException",
                f"The field {_caption(relation.table, relation.code)} of table {table} "
                f"contains a value ({code}) that cannot be found in the related table "
                f"({t.CAPTIONS[relation.target.logical_name]})",
            )
        return found[0]
    assert relation.id is not None
    key = values[relation.id]
    if key == t.EMPTY_GUID:
        return None
    row = work.get(relation.target, key, company=company)
    if row is None:
        raise record_not_found(t.CAPTIONS[relation.target.logical_name], key)
    return row


def _caption(table: EntitySchema, name: str) -> str:
    attribute = table.attribute(name)
    return attribute.caption if attribute is not None and attribute.caption else name
