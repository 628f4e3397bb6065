"""Helpers shared by the CLI tests: what a command returned, what the filled store holds, and a reader
for the tables the commands print."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bcsync.store import CouplingStore

SALESPERSON_ERROR = "Salesperson/Purchaser HR must be coupled to a record in Dynamics 365 Sales."
CURRENCY_ERROR = "Currency EUR must be coupled to a record in Dynamics 365 Sales."
POST_CODE_ERROR = "Post Code 99999 does not exist."


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@dataclass(frozen=True)
class Filled:
    """What the filled store holds, for the tests to check against."""

    url: str
    store: CouplingStore
    # CUSTOMER couplings: 0 and 1 skipped (the same error twice, To), 2 failing with two different
    # errors (not skipped), 3 synced To and failed once From.
    bc: list[str]
    crm: list[str]
    customer_to_job: str  # the newer of the two To jobs
    customer_from_job: str
    contact_job: str  # started, never finished


def table(text: str) -> list[dict[str, str]]:
    """Read a table printed by bcsync back into rows keyed by header, cutting at the rule's dash runs
    (cells may be blank or contain spaces, so splitting on whitespace would not do)."""
    header, rule, *rows = text.rstrip("\n").split("\n")
    spans: list[tuple[int, int | None]] = []
    start = 0
    for dashes in rule.split("  "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 2
    spans[-1] = (spans[-1][0], None)  # the last column runs on
    names = [header[a:b].strip() for a, b in spans]
    return [{name: row[a:b].strip() for name, (a, b) in zip(names, spans, strict=True)} for row in rows]
