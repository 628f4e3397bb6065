"""`$batch` wire formats: Dataverse's multipart/mixed and Business Central's JSON batch (OData 4.01).

Only the encoding lives here; which operations to send and what a part's status means is the hooks' job.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bcsync.wire import json_body
from bcsync.wire.errors import UnexpectedResponse

CONTINUE_ON_ERROR = "odata.continue-on-error"


@dataclass(frozen=True)
class BatchOperation:
    """One request inside a batch; `url` is relative to the service route (or absolute path for Dataverse)."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchPartResponse:
    """One operation's answer inside a batch response."""

    status: int
    headers: Mapping[str, str]
    body: Any


# -- Dataverse: multipart/mixed ----------------------------------------------------------------------


def encode_multipart(
    operations: Sequence[BatchOperation], *, boundary: str | None = None
) -> tuple[str, bytes]:
    """`(Content-Type, body)` of a multipart batch with one part per operation (no change sets)."""
    boundary = boundary or f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    for operation in operations:
        lines += [f"--{boundary}", "Content-Type: application/http", "Content-Transfer-Encoding: binary", ""]
        lines.append(f"{operation.method} {operation.url} HTTP/1.1")
        headers = dict(operation.headers)
        if operation.body is not None:
            headers.setdefault("Content-Type", "application/json; type=entry")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append("")
        lines.append(json_body.encode(operation.body).decode() if operation.body is not None else "")
    lines.append(f"--{boundary}--")
    lines.append("")
    return f'multipart/mixed; boundary="{boundary}"', "\r\n".join(lines).encode()


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def decode_multipart(content_type: str, body: bytes) -> list[BatchPartResponse]:
    """The part responses of a multipart batch response, in order (change-set parts are flattened)."""
    match = _BOUNDARY.search(content_type or "")
    if not match:
        raise UnexpectedResponse(f"batch response without a multipart boundary: {content_type!r}")
    text = body.decode("utf-8", errors="replace").replace("\r\n", "\n")
    delimiter = f"--{match.group(1)}"
    responses: list[BatchPartResponse] = []
    for chunk in text.split(delimiter)[1:]:
        if chunk.startswith("--"):
            break
        part_headers, _, content = chunk.lstrip("\n").partition("\n\n")
        headers = _header_block(part_headers)
        nested = headers.get("content-type", "")
        if nested.lower().startswith("multipart/mixed"):
            responses += decode_multipart(nested, content.encode())
        else:
            responses.append(_http_response(content))
    return responses


def _http_response(text: str) -> BatchPartResponse:
    head, _, body = text.partition("\n\n")
    status_line, _, header_lines = head.partition("\n")
    pieces = status_line.split(" ", 2)
    if len(pieces) < 2 or not pieces[0].startswith("HTTP/") or not pieces[1].isdigit():
        raise UnexpectedResponse(f"batch part without an HTTP status line: {status_line[:80]!r}")
    body = body.strip()
    try:
        parsed: Any = json_body.decode(body) if body else None
    except ValueError:
        parsed = body
    return BatchPartResponse(status=int(pieces[1]), headers=_header_block(header_lines), body=parsed)


def _header_block(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in text.split("\n"):
        name, separator, value = line.partition(":")
        if separator:
            headers[name.strip().lower()] = value.strip()
    return headers


# -- Business Central: JSON batch --------------------------------------------------------------------


def encode_json_batch(operations: Sequence[BatchOperation]) -> dict[str, Any]:
    """The JSON batch body; operation ids are their 1-based positions."""
    requests_: list[dict[str, Any]] = []
    for number, operation in enumerate(operations, start=1):
        entry: dict[str, Any] = {"method": operation.method, "id": str(number), "url": operation.url}
        headers = dict(operation.headers)
        if operation.body is not None:
            headers.setdefault("Content-Type", "application/json")
            entry["body"] = operation.body
        if headers:
            entry["headers"] = headers
        requests_.append(entry)
    return {"requests": requests_}


def decode_json_batch(body: Mapping[str, Any], count: int) -> list[BatchPartResponse | None]:
    """Responses by operation position; None where the service did not run the operation."""
    results: list[BatchPartResponse | None] = [None] * count
    for item in body.get("responses") or []:
        try:
            position = int(item["id"]) - 1
            status = int(item["status"])
        except (KeyError, TypeError, ValueError) as error:
            raise UnexpectedResponse(f"batch response item without id/status: {item!r:.200}") from error
        if 0 <= position < count:
            headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            results[position] = BatchPartResponse(status=status, headers=headers, body=item.get("body"))
    return results
