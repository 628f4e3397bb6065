"""`$filter` text → syntax tree: literals, operators, precedence, functions, `in`, and syntax errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sandbox.odata import ODataSyntaxError, UnsupportedQueryOption, parse_filter
from sandbox.odata.lexer import TokenKind
from sandbox.odata.syntax_tree import And, Call, Comparison, In, Literal, Not, Or, Property


def literal_of(text: str) -> Literal:
    node = parse_filter(f"x eq {text}")
    assert isinstance(node, Comparison)
    assert isinstance(node.right, Literal)
    return node.right


@pytest.mark.parametrize("operator", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_each_comparison_operator(operator: str) -> None:
    assert parse_filter(f"numberofemployees {operator} 5") == Comparison(
        operator, Property("numberofemployees", 0), Literal(5, TokenKind.INTEGER, 21), 18
    )


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("'Contoso'", "Contoso", TokenKind.STRING),
        ("'O''Brien & Co'", "O'Brien & Co", TokenKind.STRING),
        ("''", "", TokenKind.STRING),
        ("42", 42, TokenKind.INTEGER),
        ("-7", -7, TokenKind.INTEGER),
        ("1000.50", Decimal("1000.50"), TokenKind.DECIMAL),
        ("1.5e3", Decimal("1.5e3"), TokenKind.DECIMAL),
        ("true", True, TokenKind.BOOLEAN),
        ("false", False, TokenKind.BOOLEAN),
        ("null", None, TokenKind.NULL),
        ("ABCDEF01-2345-6789-ABCD-EF0123456789", "abcdef01-2345-6789-abcd-ef0123456789", TokenKind.GUID),
        (
            "2019-08-18T20:05:51.603Z",
            datetime(2019, 8, 18, 20, 5, 51, 603000, tzinfo=UTC),
            TokenKind.DATETIME,
        ),
        ("2024-05-01T02:00:00+02:00", datetime(2024, 5, 1, 0, 0, tzinfo=UTC), TokenKind.DATETIME),
        ("2024-05-01", date(2024, 5, 1), TokenKind.DATE),
    ],
)
def test_literals(text: str, value: object, kind: TokenKind) -> None:
    node = literal_of(text)
    assert (node.value, node.kind) == (value, kind)


def test_and_binds_tighter_than_or() -> None:
    tree = parse_filter("a eq 1 or b eq 2 and c eq 3")
    assert isinstance(tree, Or)
    assert isinstance(tree.right, And)


def test_parentheses_override_precedence() -> None:
    tree = parse_filter("(a eq 1 or b eq 2) and c eq 3")
    assert isinstance(tree, And)
    assert isinstance(tree.left, Or)


def test_not_applies_to_the_following_condition() -> None:
    tree = parse_filter("not contains(name,'x') and a eq 1")
    assert isinstance(tree, And)
    assert isinstance(tree.left, Not)
    assert isinstance(tree.left.operand, Call)


def test_functions_take_nested_calls() -> None:
    tree = parse_filter("startswith(tolower(name), 'con')")
    assert tree == Call(
        "startswith",
        (Call("tolower", (Property("name", 19),), 11), Literal("con", TokenKind.STRING, 26)),
        0,
    )


def test_in_operator_takes_a_list_of_literals() -> None:
    tree = parse_filter("blocked in ('Ship', 'All', null)")
    assert isinstance(tree, In)
    assert [value.value for value in tree.values] == ["Ship", "All", None]


def test_dataverse_in_function_is_the_in_operator() -> None:
    tree = parse_filter("Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=['0','1'])")
    assert isinstance(tree, In)
    assert tree.operand == Property("statecode", 39)  # the quoted name
    assert [value.value for value in tree.values] == ["0", "1"]


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("name eq", 7, "expected a property, a value or a function, found end of input"),
        ("name eq 'Contoso", 8, "unterminated string literal"),
        ("(name eq 'a'", 12, "expected ')'"),
        ("name eq 'a' 'b'", 12, "expected 'and', 'or' or the end"),
        ("name eq 1 and", 13, "expected a property"),
        ("x in 'a'", 5, "'(' to start the list"),
        ("name eq #", 8, "unexpected character '#'"),
        ("contains(name)", 0, "contains takes 2 arguments, got 1"),
        ("x eq 2024-02-30", 5, "no such day"),
        ("", 0, "the filter is empty"),
    ],
)
def test_syntax_errors_carry_the_position(text: str, position: int, message: str) -> None:
    with pytest.raises(ODataSyntaxError) as raised:
        parse_filter(text)
    assert raised.value.position == position
    assert message in raised.value.message
    assert raised.value.status == 400
    assert f"position {position}" in str(raised.value)


def test_unknown_functions_and_navigation_paths_are_unsupported() -> None:
    with pytest.raises(UnsupportedQueryOption, match="'substringof' is not supported"):
        parse_filter("substringof('a', name)")
    with pytest.raises(UnsupportedQueryOption, match="_<name>_value"):
        parse_filter("primarycontactid/fullname eq 'a'")
