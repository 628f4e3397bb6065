"""JSON wire values in and out: what both services accept and how they write values back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from sandbox.storage.errors import ValidationFailed
from sandbox.storage.schema import Attribute, AttributeType
from sandbox.storage.values import coerce, to_wire

T = AttributeType
WHEN = Attribute("modifiedon", T.DATETIME)
DAY = Attribute("postingDate", T.DATE)
AMOUNT = Attribute("creditlimit", T.MONEY)
LOOKUP = Attribute("parentcustomerid", T.LOOKUP)


def test_datetimes_are_read_in_any_offset_and_written_as_utc_with_z() -> None:
    value = coerce(WHEN, "2024-05-01T15:30:00+02:00")
    assert value == datetime(2024, 5, 1, 13, 30, tzinfo=UTC)
    assert to_wire(WHEN, value) == "2024-05-01T13:30:00Z"
    assert to_wire(WHEN, coerce(WHEN, "2019-08-18T20:05:51.603Z")) == "2019-08-18T20:05:51.603Z"


def test_seven_fractional_digits_from_dotnet_clients_are_accepted() -> None:
    assert coerce(WHEN, "2024-01-01T00:00:00.1234567Z").microsecond == 123456


def test_naive_and_aware_python_datetimes_are_stored_as_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert coerce(WHEN, datetime(2024, 1, 1, 7, tzinfo=eastern)) == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert coerce(WHEN, datetime(2024, 1, 1, 7)).tzinfo is UTC


def test_dates_are_plain_yyyy_mm_dd() -> None:
    assert coerce(DAY, "2024-02-29") == date(2024, 2, 29)
    assert to_wire(DAY, date(2024, 2, 29)) == "2024-02-29"
    with pytest.raises(ValidationFailed, match="YYYY-MM-DD"):
        coerce(DAY, "29/02/2024")


@pytest.mark.parametrize(
    ("wire", "stored", "written"),
    [
        (12, Decimal(12), 12),
        (0.1, Decimal("0.1"), 0.1),
        ("1234.56789", Decimal("1234.56789"), 1234.56789),
        (1.234565, Decimal("1.234565"), None),  # 6 places: rounded half to even
    ],
)
def test_decimals_keep_every_digit_up_to_five_places(wire, stored, written) -> None:
    value = coerce(AMOUNT, wire)
    if written is None:
        assert value == Decimal("1.23456")
    else:
        assert value == stored
        assert to_wire(AMOUNT, value) == written
        assert json.dumps(to_wire(AMOUNT, value)) == json.dumps(written)


def test_decimals_a_float_cannot_hold_are_returned_as_decimal() -> None:
    big = Decimal("9999999999999.99999")
    assert to_wire(AMOUNT, big) == big
    assert isinstance(to_wire(AMOUNT, big), Decimal)


def test_out_of_range_and_non_finite_decimals_are_rejected() -> None:
    with pytest.raises(ValidationFailed, match="out of range"):
        coerce(AMOUNT, "1e20")
    with pytest.raises(ValidationFailed, match="not a finite number"):
        coerce(AMOUNT, float("nan"))
    with pytest.raises(ValidationFailed, match="expected a number, got a boolean"):
        coerce(AMOUNT, True)


def test_guids_are_lowercased_and_strict() -> None:
    assert coerce(LOOKUP, "ABCDEF01-2345-6789-ABCD-EF0123456789") == "abcdef01-2345-6789-abcd-ef0123456789"
    with pytest.raises(ValidationFailed, match="not a GUID"):
        coerce(LOOKUP, "{abcdef01-2345-6789-abcd-ef0123456789}")


def test_integer_range_and_integral_floats() -> None:
    count = Attribute("numberofemployees", T.INTEGER)
    assert coerce(count, 5.0) == 5
    with pytest.raises(ValidationFailed, match="whole number"):
        coerce(count, 5.5)
    with pytest.raises(ValidationFailed, match="out of range"):
        coerce(count, 2**31)
    with pytest.raises(ValidationFailed, match="whole number"):
        coerce(count, float("inf"))


def test_null_passes_through_both_ways() -> None:
    assert coerce(WHEN, None) is None
    assert to_wire(WHEN, None) is None
