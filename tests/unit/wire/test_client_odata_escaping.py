"""OData literals, filters and query strings: values can neither break nor inject into a URL."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from bcsync.wire import odata


def decoded_filter(query: str) -> str:
    """What a server sees as `$filter` after percent-decoding the query string."""
    values = parse_qs(query, keep_blank_values=True)
    assert list(values) == ["$filter"], f"the value leaked into other options: {values}"
    return values["$filter"][0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("O'Brien & Co", "name eq 'O''Brien & Co'"),
        ("a+b#c?d", "name eq 'a+b#c?d'"),
        ("x' or 1 eq 1 or name eq '", "name eq 'x'' or 1 eq 1 or name eq '''"),
        ("Müller & Søn 東京", "name eq 'Müller & Søn 東京'"),
        ("50%; $top=1&$filter=true", "name eq '50%; $top=1&$filter=true'"),
    ],
)
def test_string_literal_survives_the_query_string_unchanged(value: str, expected: str) -> None:
    query = odata.encode_query({"$filter": str(odata.eq("name", value))})

    assert "#" not in query and "+" not in query
    assert decoded_filter(query) == expected


def test_ampersand_plus_hash_and_space_are_percent_encoded() -> None:
    query = odata.encode_query({"$filter": str(odata.eq("name", "O'Brien & a+b #1"))})

    assert query == "$filter=name%20eq%20'O''Brien%20%26%20a%2Bb%20%231'"


def test_non_ascii_is_utf8_percent_encoded() -> None:
    query = odata.encode_query({"$filter": str(odata.eq("city", "Zürich"))})

    assert "Z%C3%BCrich" in query


def test_unquoted_literals_for_guids_numbers_booleans_and_datetimes() -> None:
    guid = uuid.UUID("2f1d0c5e-8a3b-4c2d-9e1f-0a1b2c3d4e5f")
    assert odata.literal(guid) == "2f1d0c5e-8a3b-4c2d-9e1f-0a1b2c3d4e5f"
    assert odata.literal(42) == "42"
    assert odata.literal(Decimal("1000.50")) == "1000.50"
    assert odata.literal(True) == "true"
    assert odata.literal(None) == "null"
    assert odata.literal(dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == (
        "2024-05-01T00:00:00Z"
    )
    assert (
        odata.literal(dt.datetime(2024, 5, 1, 0, 0, 0, 293000, tzinfo=dt.UTC)) == "2024-05-01T00:00:00.293Z"
    )


def test_naive_datetimes_and_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        odata.literal(dt.datetime(2024, 5, 1))
    with pytest.raises(TypeError):
        odata.literal(object())  # type: ignore[arg-type]


def test_filter_builder_parenthesises_and_or() -> None:
    since = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    expression = odata.gt("modifiedon", since) & (odata.eq("statecode", 0) | odata.in_("name", ["a", "b"]))

    assert str(expression) == (
        "(modifiedon gt 2024-05-01T00:00:00Z) and ((statecode eq 0) or (name eq 'a' or name eq 'b'))"
    )


@pytest.mark.parametrize("field", ["name eq 'x' or true", "name)", "", "a b", "$filter"])
def test_field_names_cannot_carry_expressions(field: str) -> None:
    with pytest.raises(ValueError, match="property name"):
        odata.eq(field, "x")


def test_in_needs_values() -> None:
    with pytest.raises(ValueError, match="at least one"):
        odata.in_("name", [])


def test_select_dedupes_keeps_order_and_validates() -> None:
    assert odata.select(["name", "accountnumber", "name", "_parentcustomerid_value"]) == (
        "name,accountnumber,_parentcustomerid_value"
    )
    with pytest.raises(ValueError):
        odata.select(["name,telephone1"])


def test_key_segment_encodes_alternate_keys_and_leaves_guids_bare() -> None:
    assert (
        odata.key_segment("2F1D0C5E-8A3B-4C2D-9E1F-0A1B2C3D4E5F") == "(2f1d0c5e-8a3b-4c2d-9e1f-0a1b2c3d4e5f)"
    )
    segment = odata.key_segment({"accountnumber": "A/B?C#D & O'Neil"})

    assert "/" not in segment and "?" not in segment and "#" not in segment
    assert segment == "(accountnumber='A%2FB%3FC%23D%20%26%20O''Neil')"


def test_encode_query_skips_absent_options() -> None:
    query = odata.encode_query(
        odata.query_options(
            select_fields=["name"], filter=None, orderby_fields=["modifiedon", "accountid desc"]
        )
    )

    assert urlsplit(f"https://x/?{query}").query == "$select=name&$orderby=modifiedon,accountid%20desc"
