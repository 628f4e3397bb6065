"""Value conversion between the JSON wire and Python for both services.

`coerce` turns a JSON value (or an already-typed Python value) into what the repository stores and
raises `ValidationFailed` with a message a user understands; `to_wire` turns a stored value back into
something `json.dumps` writes the way Dataverse and BC do.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sandbox.storage.errors import ValidationFailed
from sandbox.storage.schema import Attribute, AttributeType

# Decimals are stored as a 64-bit integer count of 1/100000ths (see database.ExactDecimal), which
# bounds both the places kept and the magnitude.
DECIMAL_PLACES = 5
DECIMAL_QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)
MAX_DECIMAL = Decimal("9999999999999.99999")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?\Z")


def parse_guid(text: str) -> str:
    """`text` as a lowercase canonical GUID (8-4-4-4-12 hex digits); ValueError otherwise."""
    if not _GUID.match(text):
        raise ValueError(f"{text!r} is not a GUID (expected 8-4-4-4-12 hexadecimal digits)")
    return text.lower()


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date-time (`Z`, an offset or none = UTC) as an aware UTC datetime."""
    if not _DATETIME.match(text):
        raise ValueError(f"{text!r} is not an ISO 8601 date-time such as 2024-05-01T13:45:00Z")
    # Python keeps microseconds; .NET clients send up to 7 fractional digits.
    head, dot, tail = text.partition(".")
    if dot:
        digits = re.match(r"\d+", tail).group()  # type: ignore[union-attr]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits) :]}"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date-time (no such day or time)") from None
    return as_utc(value)


def parse_date(text: str) -> date:
    """A `YYYY-MM-DD` date; ValueError otherwise."""
    if not _DATE.match(text):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date (no such day)") from None


def parse_decimal(value: Any) -> Decimal:
    """A JSON number (or numeric string, as IEEE754Compatible clients send) as a Decimal.

    Rounded half-to-even to DECIMAL_PLACES, the precision the store keeps; ValueError when not numeric
    or out of range.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {json_type(value)}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        number = Decimal(repr(value))  # the shortest text that reads back as this float
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"expected a number, got {json_type(value)}")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    if number.as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
        number = number.quantize(DECIMAL_QUANTUM, rounding=ROUND_HALF_EVEN)
    if abs(number) > MAX_DECIMAL:
        raise ValueError(f"{value} is out of range (largest magnitude {MAX_DECIMAL})")
    return number


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _coerce_text(attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {json_type(value)}")
    if attribute.max_length is not None and (length := utf16_length(value)) > attribute.max_length:
        raise ValueError(
            f"the value is {length} characters long; the maximum length is {attribute.max_length}"
        )
    return value


def utf16_length(text: str) -> int:
    """Length as both services count it (.NET strings, SQL nvarchar): UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _coerce_integer(attribute: Attribute, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number, got a boolean")
    if isinstance(value, float | Decimal):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"expected a whole number, got {value}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {json_type(value)}")
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(f"{value} is out of range for a whole number ({INT32_MIN} to {INT32_MAX})")
    return value


def _coerce_choice(attribute: Attribute, value: Any) -> int:
    number = _coerce_integer(attribute, value)
    if attribute.options and number not in attribute.options:
        allowed = ", ".join(str(option) for option in attribute.options)
        raise ValueError(f"{number} is not a valid option (allowed: {allowed})")
    return number


def _coerce_enum(attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {json_type(value)}")
    if attribute.options and value not in attribute.options:
        allowed = ", ".join(repr(option) for option in attribute.options)
        raise ValueError(f"{value!r} is not a valid option (allowed: {allowed})")
    return value


def _coerce_decimal(attribute: Attribute, value: Any) -> Decimal:
    return parse_decimal(value)


def _coerce_boolean(attribute: Attribute, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {json_type(value)}")
    return value


def _coerce_guid(attribute: Attribute, value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a GUID string, got {json_type(value)}")
    return parse_guid(value)


def _coerce_datetime(attribute: Attribute, value: Any) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 date-time string, got {json_type(value)}")
    return parse_datetime(value)


def _coerce_date(attribute: Attribute, value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("expected a date without a time of day")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date string YYYY-MM-DD, got {json_type(value)}")
    return parse_date(value)


_COERCERS: dict[AttributeType, Callable[[Attribute, Any], Any]] = {
    AttributeType.STRING: _coerce_text,
    AttributeType.MEMO: _coerce_text,
    AttributeType.INTEGER: _coerce_integer,
    AttributeType.DECIMAL: _coerce_decimal,
    AttributeType.MONEY: _coerce_decimal,
    AttributeType.BOOLEAN: _coerce_boolean,
    AttributeType.GUID: _coerce_guid,
    AttributeType.LOOKUP: _coerce_guid,
    AttributeType.DATETIME: _coerce_datetime,
    AttributeType.DATE: _coerce_date,
    AttributeType.CHOICE: _coerce_choice,
    AttributeType.ENUM: _coerce_enum,
}


def coerce(attribute: Attribute, value: Any) -> Any:
    """The stored Python value for a JSON wire value (already-typed Python values pass through).

    None stays None (whether it is allowed is the repository's business: required attributes).
    Raises ValidationFailed naming the attribute.
    """
    if value is None:
        return None
    try:
        return _COERCERS[attribute.type](attribute, value)
    except ValueError as error:
        raise ValidationFailed(attribute.name, str(error)) from None


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with `Z`; fractional seconds only as far as the value has them."""
    value = as_utc(value)
    if value.microsecond == 0:
        spec = "seconds"
    elif value.microsecond % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def decimal_to_wire(value: Decimal) -> int | float | Decimal:
    """An int for whole numbers, else a float when that float prints back as the same digits.

    Beyond ~15 significant digits a float would lose digits, so the Decimal itself is returned and
    the caller's JSON encoder must write it as a number.
    """
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) == value:
        return as_float
    return value


def to_wire(attribute: Attribute, value: Any) -> Any:
    """The JSON-ready value of a stored value: datetimes `...Z`, dates `YYYY-MM-DD`, lowercase GUIDs."""
    if value is None:
        return None
    kind = attribute.type
    if kind is AttributeType.DATETIME:
        return format_datetime(value)
    if kind is AttributeType.DATE:
        return value.isoformat()
    if kind is AttributeType.DECIMAL or kind is AttributeType.MONEY:
        return decimal_to_wire(value)
    if kind is AttributeType.GUID or kind is AttributeType.LOOKUP:
        return str(value).lower()
    return value
