"""`$select`, `$orderby`, `$top`, `$expand`, the `Prefer` header and skip tokens."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sandbox_test_schemas import ACCOUNT

from sandbox.odata import (
    ExpandItem,
    ODataError,
    ODataSyntaxError,
    UnknownProperty,
    UnsupportedQueryOption,
    decode_skiptoken,
    encode_skiptoken,
    parse_expand,
    parse_orderby,
    parse_prefer,
    parse_select,
    parse_top,
)


def test_select_lists_wire_columns_once_in_order() -> None:
    assert parse_select("name, accountnumber,name,_parentcustomerid_value", ACCOUNT) == (
        "name",
        "accountnumber",
        "_parentcustomerid_value",
    )


def test_select_star_means_every_column() -> None:
    assert parse_select("*", ACCOUNT) == tuple(attribute.column for attribute in ACCOUNT.attributes)


@pytest.mark.parametrize(("text", "error"), [("name,colour", UnknownProperty), ("name,,x", ODataSyntaxError)])
def test_select_rejects_unknown_or_empty_items(text: str, error: type[ODataError]) -> None:
    with pytest.raises(error):
        parse_select(text, ACCOUNT)


def test_orderby_gives_column_and_direction_pairs() -> None:
    assert parse_orderby("modifiedon desc, name asc,accountid", ACCOUNT) == [
        ("modifiedon", True),
        ("name", False),
        ("accountid", False),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [("name sideways", "expected 'property', 'property asc'"), ("colour", "'colour'"), ("", "empty item")],
)
def test_orderby_rejects_bad_items(text: str, message: str) -> None:
    with pytest.raises(ODataError, match=message):
        parse_orderby(text, ACCOUNT)


def test_top_is_a_non_negative_integer() -> None:
    assert parse_top("0") == 0
    assert parse_top("5000") == 5000
    for bad in ("-1", "ten", "1.5", ""):
        with pytest.raises(ODataError, match="non-negative integer"):
            parse_top(bad)


def test_expand_with_nested_options_keeps_quoted_separators_intact() -> None:
    items = parse_expand(
        "primarycontactid($select=fullname,emailaddress1;$filter=contains(fullname,'a;b),c')),"
        "contact_customer_accounts($top=5;$orderby=fullname desc;$expand=owninguser($select=fullname))"
    )
    assert items == (
        ExpandItem("primarycontactid", select="fullname,emailaddress1", filter="contains(fullname,'a;b),c')"),
        ExpandItem(
            "contact_customer_accounts",
            top=5,
            orderby="fullname desc",
            expand=(ExpandItem("owninguser", select="fullname"),),
        ),
    )


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("primarycontactid($skip=2)", UnsupportedQueryOption, "'$skip' is not supported inside $expand"),
        ("primarycontactid($select=a", ODataSyntaxError, "unbalanced '('"),
        ("primarycontactid($top=x)", ODataError, "non-negative integer"),
        ("primarycontactid($select)", ODataSyntaxError, "expected '='"),
        ("a/b", UnsupportedQueryOption, "Navigation paths"),
    ],
)
def test_expand_errors(text: str, error: type[ODataError], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        parse_expand(text)


def test_prefer_values_from_several_headers_and_comma_lists() -> None:
    preferences = parse_prefer(
        [
            "odata.maxpagesize=250, return=representation",
            'odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.*"',
            "odata.track-changes",
            "odata.continue-on-error",
        ]
    )
    assert preferences.max_page_size == 250
    assert preferences.return_representation
    assert preferences.track_changes
    assert preferences.continue_on_error
    assert preferences.wants_annotation("OData.Community.Display.V1.FormattedValue")
    assert preferences.wants_annotation("Microsoft.Dynamics.CRM.totalrecordcount")
    assert not preferences.wants_annotation("Microsoft.PowerApps.CDS.HelpLink")


def test_prefer_defaults_and_unknown_preferences_are_ignored() -> None:
    preferences = parse_prefer("respond-async, return=minimal")
    assert preferences == parse_prefer(None)
    assert preferences.max_page_size is None
    assert parse_prefer('odata.include-annotations="*"').wants_annotation("anything.at.all")


def test_prefer_rejects_a_malformed_page_size() -> None:
    with pytest.raises(ODataError, match="positive integer"):
        parse_prefer("odata.maxpagesize=lots")


def test_skiptoken_round_trips_typed_values_exactly() -> None:
    position = [
        datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        Decimal("1234.50000"),
        date(2024, 2, 29),
        None,
        "O'Brien & Co/?+=",
        42,
        True,
        "abcdef01-2345-6789-abcd-ef0123456789",
    ]
    token = encode_skiptoken(position)
    assert all(char.isalnum() or char in "-_." for char in token)  # safe in a URL unescaped
    decoded = decode_skiptoken(token)
    assert decoded == position
    assert [type(value) for value in decoded] == [type(value) for value in position]
    assert str(decoded[1]) == "1234.50000"


@pytest.mark.parametrize("token", ["", "garbage", "W10.AAAA", "!!!.???"])
def test_garbage_skiptoken_is_a_400(token: str) -> None:
    with pytest.raises(ODataError, match="skiptoken is not valid") as raised:
        decode_skiptoken(token)
    assert raised.value.status == 400


def test_edited_skiptoken_is_a_400() -> None:
    body, check = encode_skiptoken([5, "abc"]).split(".")
    edited = ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(ODataError, match="skiptoken is not valid"):
        decode_skiptoken(f"{edited}.{check}")
