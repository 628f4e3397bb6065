"""The syntax tree of a parsed `$filter`: literals, properties, comparisons, logic, `in` and calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Literal as TypingLiteral

from sandbox.odata.lexer import TokenKind

ComparisonOperator = TypingLiteral["eq", "ne", "gt", "ge", "lt", "le"]
COMPARISON_OPERATORS: frozenset[str] = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})


@dataclass(frozen=True)
class Literal:
    value: Any  # str, int, Decimal, bool, None, GUID str, datetime (UTC), date
    kind: TokenKind
    position: int


@dataclass(frozen=True)
class Property:
    name: str
    position: int


@dataclass(frozen=True)
class Call:
    """A built-in function: contains, startswith, endswith, tolower, toupper."""

    name: str
    arguments: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Comparison:
    operator: ComparisonOperator
    left: Node
    right: Node
    position: int


@dataclass(frozen=True)
class In:
    """`x in ('a','b')`, or Dataverse's `Microsoft.Dynamics.CRM.In(PropertyName=...,PropertyValues=[...])`."""

    operand: Node
    values: tuple[Literal, ...]
    position: int


@dataclass(frozen=True)
class And:
    left: Node
    right: Node
    position: int


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node
    position: int


@dataclass(frozen=True)
class Not:
    operand: Node
    position: int


Node = Literal | Property | Call | Comparison | In | And | Or | Not
