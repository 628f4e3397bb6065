"""BC's weak ETags: `W/"<base64 of '<n>;<row version>;00;'>"`, opaque to clients, new on every write."""

from __future__ import annotations

import base64
import binascii
import re

from sandbox.bc.errors import BCError

_PAYLOAD = re.compile(r"'(\d+);(\d+);00;'\Z")
# Real ETags seen on the wire start with '19;' (JzE5Oz...); clients treat the value as opaque.
_PREFIX = "19"


def etag(version: int) -> str:
    payload = f"'{_PREFIX};{version};00;'"
    return f'W/"{base64.b64encode(payload.encode()).decode()}"'


def invalid_token() -> BCError:
    return BCError(
        400,
        "BadRequest_InvalidToken",
        "Could not validate the client concurrency token required by the service. "
        "Please provide a valid token in the client request",
    )


def parse_if_match(header: str) -> int | None:
    """The row version an `If-Match` value names, or None for `*` (any version)."""
    value = header.strip()
    if value == "*":
        return None
    if value.startswith("W/"):
        value = value[2:]
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        raise invalid_token()
    try:
        payload = base64.b64decode(value[1:-1], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_token() from None
    match = _PAYLOAD.match(payload)
    if match is None:
        raise invalid_token()
    return int(match.group(2))
