"""Turns a parsed `$filter` into a SQLAlchemy clause over one entity's table.

Text compares case-insensitively (both services' collations do), `eq null` is IS NULL, and the
two-valued OData logic is kept: `ne` and `not` include rows whose value is null.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, func, literal, not_, or_, true

from sandbox.odata.errors import IncompatibleLiteral, UnknownProperty, UnsupportedQueryOption
from sandbox.odata.filter_parser import parse_filter
from sandbox.odata.lexer import TokenKind
from sandbox.odata.syntax_tree import And, Call, Comparison, In, Literal, Node, Not, Or, Property
from sandbox.storage.database import TEXT_TYPES, casefold
from sandbox.storage.schema import Attribute, AttributeType, EntitySchema
from sandbox.storage.values import DECIMAL_PLACES, parse_date, parse_datetime, parse_decimal, parse_guid

_FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_STRING_FUNCTIONS = {"contains", "startswith", "endswith"}
_CASE_FUNCTIONS = {"tolower", "toupper"}
_LIKE_ESCAPE = "\\"


def filter_clause(text: str, schema: EntitySchema, table: Table) -> ColumnElement[bool]:
    """Parse and compile a `$filter` value in one step."""
    return compile_filter(parse_filter(text), schema, table)


def compile_filter(node: Node, schema: EntitySchema, table: Table) -> ColumnElement[bool]:
    """The SQL condition for a `$filter` tree; raises ODataError subclasses for bad queries."""
    return _Compiler(schema, table).boolean(node)


def resolve_property(schema: EntitySchema, name: str, position: int | None = None) -> Attribute:
    """The attribute behind a wire property name (lookups answer only to `_<name>_value`)."""
    attribute = schema.attribute(name)
    if attribute is None or attribute.column != name:
        raise UnknownProperty(name, schema.logical_name, position=position)
    return attribute


def _escape_like(text: str) -> str:
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )


class _Compiler:
    def __init__(self, schema: EntitySchema, table: Table) -> None:
        self.schema = schema
        self.table = table

    def boolean(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(self.boolean(node.left), self.boolean(node.right))
        if isinstance(node, Or):
            return or_(self.boolean(node.left), self.boolean(node.right))
        if isinstance(node, Not):
            # SQL's NOT of an unknown (null) comparison is unknown; OData's is true.
            return not_(func.coalesce(self.boolean(node.operand), false()))
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, In):
            return self.membership(node)
        if isinstance(node, Call) and node.name in _STRING_FUNCTIONS:
            return self.string_function(node)
        if isinstance(node, Property):
            attribute = self.attribute(node)
            if attribute.type is AttributeType.BOOLEAN:
                return self.table.c[attribute.column].is_(True)
        if isinstance(node, Literal) and node.kind is TokenKind.BOOLEAN:
            return true() if node.value else false()
        raise IncompatibleLiteral(
            "The $filter expression is not a true/false condition.", position=_position(node)
        )

    def attribute(self, node: Property) -> Attribute:
        return resolve_property(self.schema, node.name, node.position)

    def operand(self, node: Node) -> tuple[Attribute, ColumnElement[Any]]:
        """A property, possibly wrapped in tolower/toupper, and the SQL expression to compare."""
        if isinstance(node, Property):
            attribute = self.attribute(node)
            column = self.table.c[attribute.column]
            return attribute, casefold(column) if attribute.type in TEXT_TYPES else column
        if isinstance(node, Call) and node.name in _CASE_FUNCTIONS:
            attribute, expression = self.operand(node.arguments[0])
            if attribute.type not in TEXT_TYPES:
                raise IncompatibleLiteral(
                    f"{node.name} needs a text property; '{attribute.column}' is {attribute.type.value}.",
                    position=node.position,
                )
            # Comparisons are case-insensitive already, so changing the case changes nothing.
            return attribute, expression
        raise UnsupportedQueryOption(
            "Each comparison needs a property on one side and a literal value on the other.",
            position=_position(node),
        )

    def comparison(self, node: Comparison) -> ColumnElement[bool]:
        operator = node.operator
        left, right = node.left, node.right
        if isinstance(left, Literal) and not isinstance(right, Literal):
            left, right, operator = right, left, _FLIPPED[operator]  # 5 lt x  →  x gt 5
        if not isinstance(right, Literal):
            raise UnsupportedQueryOption(
                "Each comparison needs a property on one side and a literal value on the other.",
                position=node.position,
            )
        attribute, expression = self.operand(left)
        if right.kind is TokenKind.NULL:
            if operator == "eq":
                return expression.is_(None)
            if operator == "ne":
                return expression.is_not(None)
            raise IncompatibleLiteral(
                f"null can only be compared with eq or ne, not {operator}.", position=node.position
            )
        value = self.bound(attribute, right)
        if operator == "eq":
            return expression == value
        if operator == "ne":
            return or_(expression != value, expression.is_(None))
        if operator == "gt":
            return expression > value
        if operator == "ge":
            return expression >= value
        if operator == "lt":
            return expression < value
        return expression <= value

    def membership(self, node: In) -> ColumnElement[bool]:
        attribute, expression = self.operand(node.operand)
        values = [self.bound(attribute, item) for item in node.values if item.kind is not TokenKind.NULL]
        condition = expression.in_(values) if values else false()
        if len(values) < len(node.values):
            return or_(condition, expression.is_(None))
        return condition

    def string_function(self, node: Call) -> ColumnElement[bool]:
        subject, pattern = node.arguments
        attribute, expression = self.operand(subject)
        if attribute.type not in TEXT_TYPES:
            raise IncompatibleLiteral(
                f"{node.name} needs a text property; '{attribute.column}' is {attribute.type.value}.",
                position=node.position,
            )
        if not isinstance(pattern, Literal) or pattern.kind is not TokenKind.STRING:
            raise IncompatibleLiteral(
                f"The second argument of {node.name} must be a quoted string.", position=node.position
            )
        escaped = _escape_like(pattern.value)
        like = {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}"}[node.name]
        return expression.like(casefold(literal(like)), escape=_LIKE_ESCAPE)

    def bound(self, attribute: Attribute, node: Literal) -> Any:
        """The literal as a value of the attribute's type (wrapped for case-insensitive text)."""
        converter = _CONVERTERS[attribute.type]
        try:
            value = converter(node)
        except (ValueError, TypeError) as error:
            reason = str(error) or "wrong type"
            raise IncompatibleLiteral(
                f"The value {_written(node)} cannot be compared with '{attribute.column}' "
                f"({attribute.type.value}): {reason}.",
                position=node.position,
            ) from None
        return casefold(literal(value)) if attribute.type in TEXT_TYPES else value


def _written(node: Literal) -> str:
    if node.kind is TokenKind.STRING:
        return "'" + str(node.value).replace("'", "''") + "'"
    if node.kind is TokenKind.BOOLEAN:
        return "true" if node.value else "false"
    return str(node.value)


def _position(node: Node) -> int:
    return node.position


def _expect(node: Literal, *kinds: TokenKind) -> None:
    if node.kind not in kinds:
        names = " or ".join(kind.value for kind in kinds)
        raise TypeError(f"expected {names}, got {node.kind.value}")


def _to_text(node: Literal) -> str:
    _expect(node, TokenKind.STRING)
    return node.value


def _number(node: Literal) -> Decimal:
    """A numeric literal, or a quoted one (Microsoft.Dynamics.CRM.In passes every value quoted)."""
    if node.kind is not TokenKind.STRING:
        _expect(node, TokenKind.INTEGER, TokenKind.DECIMAL)
        return Decimal(node.value)
    try:
        value = Decimal(node.value.strip())
    except InvalidOperation:
        raise ValueError(f"{node.value!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{node.value!r} is not a finite number")
    return value


def _to_integer(node: Literal) -> int:
    value = _number(node)
    if value != value.to_integral_value():
        raise ValueError("expected a whole number")
    return int(value)


def _to_decimal(node: Literal) -> Decimal:
    value = _number(node)
    if value.as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
        raise ValueError(f"at most {DECIMAL_PLACES} decimal places are stored")
    return parse_decimal(value)


def _to_boolean(node: Literal) -> bool:
    _expect(node, TokenKind.BOOLEAN)
    return node.value


def _to_guid(node: Literal) -> str:
    if node.kind is TokenKind.STRING:
        return parse_guid(node.value)
    _expect(node, TokenKind.GUID)
    return node.value


def _to_datetime(node: Literal) -> datetime:
    if node.kind is TokenKind.STRING:
        return parse_datetime(node.value)
    if node.kind is TokenKind.DATE:
        return datetime.combine(node.value, time(), tzinfo=UTC)
    _expect(node, TokenKind.DATETIME)
    return node.value


def _to_date(node: Literal) -> date:
    if node.kind is TokenKind.STRING:
        return parse_date(node.value)
    _expect(node, TokenKind.DATE)
    return node.value


_CONVERTERS: dict[AttributeType, Callable[[Literal], Any]] = {
    AttributeType.STRING: _to_text,
    AttributeType.MEMO: _to_text,
    AttributeType.ENUM: _to_text,
    AttributeType.INTEGER: _to_integer,
    AttributeType.CHOICE: _to_integer,
    AttributeType.DECIMAL: _to_decimal,
    AttributeType.MONEY: _to_decimal,
    AttributeType.BOOLEAN: _to_boolean,
    AttributeType.GUID: _to_guid,
    AttributeType.LOOKUP: _to_guid,
    AttributeType.DATETIME: _to_datetime,
    AttributeType.DATE: _to_date,
}
