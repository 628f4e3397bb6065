"""Opaque, URL-safe `$skiptoken` values that carry a keyset position (order-by values, then the key).

Values keep their exact type (datetime, date, Decimal, ...) so the next page starts exactly after the
last row. A checksum rejects garbage and edited tokens with a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.odata.errors import ODataError
from sandbox.storage.values import parse_datetime

# Not a secret: the check catches corrupted or hand-edited tokens; a forged position could only
# reveal rows the caller may read anyway.
_CHECK_KEY = b"sandbox.odata.skiptoken.v1"
_CHECK_BYTES = 9


def encode_skiptoken(values: Sequence[Any]) -> str:
    """A URL-safe token for a keyset position."""
    payload = json.dumps([_tagged(value) for value in values], separators=(",", ":")).encode()
    check = hmac.new(_CHECK_KEY, payload, hashlib.sha256).digest()[:_CHECK_BYTES]
    return f"{_b64(payload)}.{_b64(check)}"


def decode_skiptoken(token: str) -> list[Any]:
    """The keyset position inside a token from `encode_skiptoken`; ODataError (400) if it is not one."""
    try:
        body, _, check = token.partition(".")
        payload = _unb64(body)
        expected = hmac.new(_CHECK_KEY, payload, hashlib.sha256).digest()[:_CHECK_BYTES]
        if not check or not hmac.compare_digest(_unb64(check), expected):
            raise ValueError("checksum mismatch")
        tagged = json.loads(payload)
        if not isinstance(tagged, list):
            raise ValueError("not a list")
        return [_untagged(item) for item in tagged]
    except (ValueError, TypeError, KeyError, binascii.Error, InvalidOperation, UnicodeDecodeError):
        raise ODataError("The $skiptoken is not valid; request the first page again.") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tagged(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, Decimal):
        return ["m", str(value)]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, float):
        return ["f", repr(value)]
    raise TypeError(f"a skip token cannot hold a {type(value).__name__}")


def _untagged(item: Any) -> Any:
    if item is None:
        return None
    tag, value = item
    if tag == "b" and isinstance(value, bool):
        return value
    if tag == "i" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tag == "s" and isinstance(value, str):
        return value
    if tag == "m":
        return Decimal(value)
    if tag == "t":
        return parse_datetime(value)
    if tag == "d":
        return date.fromisoformat(value)
    if tag == "f":
        return float(value)
    raise ValueError(f"unknown value tag {tag!r}")
