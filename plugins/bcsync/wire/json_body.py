"""JSON bodies of requests and responses, encoded and parsed with msgspec (an Airflow dependency).

A bulk message of 1,000 records or a page of 5,000 is most of a sync's client CPU outside pandas;
the standard library's encoder takes about ten times as long and its parser about one and a half.
The values are the same: msgspec writes what `json` writes for JSON's types, and a few Python types
`json` refuses (Decimal as a number, datetime and UUID as ISO text). A NaN becomes null (`json` with
`allow_nan=False`, as requests calls it, refuses it; a NaN in a frame is a missing value).
"""

from __future__ import annotations

from typing import Any

import msgspec

CONTENT_TYPE = "application/json"
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder()

DecodeError = msgspec.DecodeError  # a ValueError


def encode(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    return _ENCODER.encode(value)


def decode(content: bytes | str) -> Any:
    """The JSON value of `content` (UTF-8); raises `DecodeError`, a ValueError, if it is not JSON."""
    return _DECODER.decode(content)
