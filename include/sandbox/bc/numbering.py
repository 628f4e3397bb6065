"""Number series: the `number` of a record created without one, as BC's No. Series assigns it.

Each company keeps a `noSeries` row per series with its last number used; a missing row is created
from the defaults below. A number already taken (for example by seed data) is skipped, never reused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from sandbox.bc import tables as t
from sandbox.storage.repository import UnitOfWork
from sandbox.storage.schema import EntitySchema

_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class NumberSeries:
    code: str
    description: str
    starting_no: str
    increment_by: int
    attribute: str  # the table attribute the series fills


SERIES: dict[str, NumberSeries] = {
    t.CUSTOMER.logical_name: NumberSeries("CUST", "Customer", "C00010", 10, "number"),
    t.VENDOR.logical_name: NumberSeries("VEND", "Vendor", "V00010", 10, "number"),
    t.CONTACT.logical_name: NumberSeries("CONT", "Contact", "CT000010", 10, "number"),
    t.ITEM.logical_name: NumberSeries("ITEM", "Item", "I00010", 10, "number"),
    t.SALES_INVOICE.logical_name: NumberSeries("S-INV", "Sales Invoice", "S-INV100001", 1, "number"),
    t.RESOURCE.logical_name: NumberSeries("RES", "Resource", "R0010", 10, "no"),
}


def increment(number: str, by: int) -> str:
    """BC's IncStr: add `by` to the last run of digits, keeping its width (`C00010` → `C00020`)."""
    match = _LAST_DIGITS.search(number)
    if match is None:
        raise ValueError(f"the number {number!r} has no digits to increment")
    digits = match.group(1)
    incremented = str(int(digits) + by).rjust(len(digits), "0")
    return f"{number[: match.start(1)]}{incremented}{number[match.end(1) :]}"


def series_for(table: EntitySchema) -> NumberSeries | None:
    return SERIES.get(table.logical_name)


def next_numbers(
    work: UnitOfWork, table: EntitySchema, sql_table: Table, company: str, count: int
) -> list[str]:
    """Take the next `count` free numbers of the table's series (inside the caller's transaction)."""
    series = SERIES[table.logical_name]
    found = work.find(t.NO_SERIES, {"code": series.code}, company=company)
    if found:
        row = found[0]
        last, step = row["lastNoUsed"], row["incrementByNo"] or 1
    else:
        row = work.insert(
            t.NO_SERIES,
            {
                "code": series.code,
                "description": series.description,
                "startingNo": series.starting_no,
                "incrementByNo": series.increment_by,
            },
            company=company,
        )
        last, step = "", series.increment_by
    column = sql_table.c[series.attribute]
    numbers: list[str] = []
    candidate = increment(last, step) if last else row["startingNo"] or series.starting_no
    while len(numbers) < count:
        # Look ahead a whole run at once: one query finds which candidates are taken already.
        run = [candidate]
        while len(run) < count - len(numbers):
            run.append(increment(run[-1], step))
        taken = {r[series.attribute].upper() for r in _existing(work, table, column, run, company)}
        numbers += [number for number in run if number.upper() not in taken]
        candidate = increment(run[-1], step)
    numbers = numbers[:count]
    work.update(t.NO_SERIES, row["id"], {"lastNoUsed": numbers[-1]}, company=company)
    return numbers


def _existing(
    work: UnitOfWork, table: EntitySchema, column: Any, numbers: list[str], company: str
) -> list[dict[str, Any]]:
    return work.query(table, where=column.in_(numbers), company=company) if numbers else []
