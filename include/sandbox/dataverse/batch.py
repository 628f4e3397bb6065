"""Multipart `$batch`: requests run in order, change sets as one transaction, Content-ID `$n` references.

Without `Prefer: odata.continue-on-error` the first failure ends the batch and the batch answers with
that request's status; with it, every part gets its own response and the batch answers 200.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlsplit

from sandbox.dataverse.errors import REQUEST_TOO_LARGE, DataverseError, bad_request
from sandbox.dataverse.resources import API_PREFIX, relative_reference
from sandbox.dataverse.service import STATUS_TEXT, ApiRequest, ApiResponse, DataverseService
from sandbox.dataverse.users import CALLER_OBJECT_ID, MSCRM_CALLER_ID
from sandbox.odata import ODataError, parse_prefer

IMPERSONATION_HEADERS = (CALLER_OBJECT_ID, MSCRM_CALLER_ID)
MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


@dataclass
class Operation:
    request: ApiRequest
    content_id: str | None = None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


Part = Operation | ChangeSet


def boundary_of(content_type: str | None) -> str:
    if not content_type or not content_type.lower().startswith("multipart/mixed"):
        raise bad_request("A $batch request needs 'Content-Type: multipart/mixed; boundary=batch_<id>'.")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise bad_request("The multipart/mixed Content-Type of the $batch request has no boundary.")
    return match.group(1)


def split_parts(body: bytes, boundary: str) -> list[bytes]:
    """The parts between `--boundary` delimiters (CRLF or LF line ends)."""
    text = body.replace(b"\r\n", b"\n")
    delimiter = b"--" + boundary.encode()
    chunks = text.split(delimiter)
    if len(chunks) < 2:
        raise bad_request(f"The $batch body contains no part delimited by '--{boundary}'.")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        parts.append(chunk.lstrip(b" \t").removeprefix(b"\n"))
    return parts


def split_head(block: bytes) -> tuple[dict[str, str], bytes]:
    """Header lines up to the first blank line, and what follows."""
    head, separator, rest = block.partition(b"\n\n")
    if not separator:
        head, rest = block, b""
    headers: dict[str, str] = {}
    for line in head.decode("utf-8").split("\n"):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise bad_request(f"The $batch part header line '{line}' is not 'Name: value'.")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return headers, rest


def parse_batch(body: bytes, content_type: str | None, app_id: str | None) -> list[Part]:
    parts: list[Part] = []
    for block in split_parts(body, boundary_of(content_type)):
        headers, content = split_head(block)
        kind = headers.get("content-type", "")
        if kind.lower().startswith("multipart/mixed"):
            change_set = ChangeSet()
            for inner in split_parts(content, boundary_of(kind)):
                inner_headers, inner_content = split_head(inner)
                if inner_headers.get("content-type", "").lower().startswith("multipart/"):
                    raise bad_request("Change sets cannot be nested.")
                change_set.operations.append(_operation(inner_headers, inner_content, app_id))
            parts.append(change_set)
        else:
            parts.append(_operation(headers, content, app_id))
    count = sum(len(part.operations) if isinstance(part, ChangeSet) else 1 for part in parts)
    if count > MAX_REQUESTS:
        raise DataverseError(
            413, REQUEST_TOO_LARGE, f"Number of requests in a batch exceeded the limit of {MAX_REQUESTS}."
        )
    return parts


def _operation(part_headers: dict[str, str], content: bytes, app_id: str | None) -> Operation:
    if not part_headers.get("content-type", "").lower().startswith("application/http"):
        raise bad_request("Each $batch part must have 'Content-Type: application/http' or be a change set.")
    request_head, _, body = content.partition(b"\n\n")
    lines = request_head.decode("utf-8").split("\n")
    request_line = lines[0].strip()
    pieces = request_line.split(" ")
    if len(pieces) < 2:
        raise bad_request(f"The $batch part request line '{request_line}' is not 'METHOD URL HTTP/1.1'.")
    method, url = pieces[0].upper(), pieces[1]
    headers, _ = split_head("\n".join(lines[1:]).encode())
    path, query = _resource(url)
    if path == "$batch":
        raise bad_request("A $batch request cannot contain another $batch request.")
    content_id = part_headers.get("content-id") or headers.get("content-id")
    return Operation(ApiRequest(method, path, query, headers, body.rstrip(b"\n"), app_id), content_id)


def _resource(url: str) -> tuple[str, list[tuple[str, str]]]:
    """`https://host/api/data/v9.2/accounts?x=1`, `/api/data/v9.2/accounts` or `accounts` → path, query."""
    split = urlsplit(url)
    path = split.path
    marker = path.find(API_PREFIX + "/")
    if marker >= 0:
        path = path[marker + len(API_PREFIX) + 1 :]
    elif path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :]
    return path.lstrip("/"), parse_qsl(split.query, keep_blank_values=True)


class BatchRunner:
    def __init__(self, service: DataverseService) -> None:
        self.service = service

    def run(self, request: ApiRequest) -> ApiResponse:
        try:
            parts = parse_batch(request.body, request.header("content-type"), request.app_id)
            continue_on_error = parse_prefer(request.header("prefer")).continue_on_error
            with self.service.repository.unit_of_work() as work:
                # Every part runs as the batch's caller (impersonation headers included): resolve once.
                actor = self.service.caller(work, request)
        except DataverseError as error:
            return ApiResponse.error(error)
        except ODataError as error:
            return ApiResponse.error(bad_request(error.message))
        batch = replace(request, actor=actor)
        boundary = f"batchresponse_{uuid.uuid4()}"
        rendered: list[str] = []
        for group in _runs_of_creates(parts):
            results = self._create_together(group, batch) if len(group) > 1 else None
            for part in group if results is None else ():
                text, failure = self._run_part(part, batch)
                if failure is not None and not continue_on_error:
                    return ApiResponse(failure, _batch_headers(boundary), _multipart(boundary, [text]))
                rendered.append(text)
            rendered += results or []
        headers = _batch_headers(boundary)
        if continue_on_error:
            headers["Preference-Applied"] = "odata.continue-on-error"
        return ApiResponse(200, headers, _multipart(boundary, rendered))

    def _create_together(self, group: list[Part], batch: ApiRequest) -> list[str] | None:
        """The answers to a run of plain creates, written as one multi-row insert; None if any fails.

        The outcome is what running them one by one gives when all succeed; on a failure the caller
        runs them one by one so each part gets its own answer and the batch stops where it should.
        """
        requests = [_inherit(part.request, batch) for part in group if isinstance(part, Operation)]
        responses = self.service.create_together(requests)
        if responses is None:
            return None
        return [_http_part(response, None) for response in responses]

    def _run_part(self, part: Part, batch: ApiRequest) -> tuple[str, int | None]:
        """The rendered part and, when it failed, its status."""
        if isinstance(part, Operation):
            response = self.service.handle(_inherit(part.request, batch))
            failure = response.status if response.status >= 400 else None
            return _http_part(response, part.content_id), failure
        return self._run_change_set(part, batch)

    def _run_change_set(self, change_set: ChangeSet, batch: ApiRequest) -> tuple[str, int | None]:
        references: dict[str, str] = {}
        responses: list[str] = []
        try:
            with self.service.repository.unit_of_work() as work:
                for operation in change_set.operations:
                    if operation.request.method == "GET":
                        raise bad_request("GET requests are not allowed inside a change set.")
                    response = self.service.execute(_inherit(operation.request, batch), work, references)
                    if operation.content_id:
                        entity_id = response.headers.get("OData-EntityId")
                        if entity_id:
                            references[f"${operation.content_id}"] = relative_reference(entity_id)
                    responses.append(_http_part(response, operation.content_id))
        except DataverseError as error:
            # The change set rolled back: it answers with the one failure.
            return _http_part(ApiResponse.error(error), None), error.status
        boundary = f"changesetresponse_{uuid.uuid4()}"
        text = (
            f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n"
            + _multipart(boundary, responses).decode()
        )
        return text, None


def _runs_of_creates(parts: list[Part]) -> list[list[Part]]:
    """Parts grouped so that consecutive plain creates in one entity set share a group."""
    groups: list[list[Part]] = []
    previous: str | None = None
    for part in parts:
        target = _plain_create_target(part)
        if target is not None and target == previous:
            groups[-1].append(part)
        else:
            groups.append([part])
        previous = target
    return groups


def _plain_create_target(part: Part) -> str | None:
    """The entity set of a POST that nothing else in the batch refers to and that returns no body."""
    if not isinstance(part, Operation) or part.content_id is not None:
        return None
    request = part.request
    if request.method != "POST" or request.query or "/" in request.path or "(" in request.path:
        return None
    if request.path.startswith("$") or "representation" in (request.header("prefer") or ""):
        return None
    return request.path


def _inherit(request: ApiRequest, batch: ApiRequest) -> ApiRequest:
    """Parts run as the batch's caller; a part without impersonation headers takes the batch's."""
    headers = request.headers
    if not any(name in headers for name in IMPERSONATION_HEADERS):
        headers = {**{k: v for k, v in batch.headers.items() if k in IMPERSONATION_HEADERS}, **headers}
    return ApiRequest(request.method, request.path, request.query, headers, request.body, batch.app_id)


def _http_part(response: ApiResponse, content_id: str | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {response.status} {STATUS_TEXT.get(response.status, '')}".rstrip()]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    lines += ["", response.body.decode("utf-8")]
    return "\r\n".join(lines)


def _multipart(boundary: str, parts: list[str]) -> bytes:
    text = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return text.encode("utf-8")


def _batch_headers(boundary: str) -> dict[str, str]:
    return {"Content-Type": f"multipart/mixed; boundary={boundary}", "OData-Version": "4.0"}
