"""JSON `$batch` (OData 4.01) on a BC route: at most 100 operations, URLs relative to the route.

Without `Isolation: snapshot` each operation commits on its own and the batch stops at the first
failure unless `Prefer: odata.continue-on-error`. With it, all operations run in one unit of work:
the first failure rolls everything back and the answer holds that failure alone. The outer status
is 200 whenever the batch itself parses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.bc.errors import BCError, bad_request
from sandbox.bc.service import Answer, BusinessCentral, Call, error_answer
from sandbox.bc.urls import ServicePath
from sandbox.bc.wire import parse_body
from sandbox.odata import ODataError, parse_prefer
from sandbox.storage.repository import UnitOfWork

MAX_OPERATIONS = 100
_METHODS = frozenset({"GET", "POST", "PATCH", "DELETE"})


class _RollBack(Exception):
    """Raised inside a snapshot batch to undo its unit of work; carries the failed operation."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__("snapshot batch failed")
        self.response = response


def run_batch(
    service: BusinessCentral, base_path: str, body: bytes, headers: Mapping[str, str], actor: str | None
) -> Answer:
    """`base_path` is `/v2.0/{tenant}/{environment}/{route}`, the root of relative operation URLs."""
    if "json" not in headers.get("content-type", "application/json"):
        raise bad_request(
            "The local Business Central service accepts JSON batches only (Content-Type: application/json)"
        )
    operations = _operations(parse_body(body))
    try:
        continue_on_error = parse_prefer(headers.get("prefer")).continue_on_error
    except ODataError as error:
        raise bad_request(error.message) from None
    snapshot = headers.get("isolation", "").strip().lower() == "snapshot"
    calls = [(operation, _call(operation, base_path, actor)) for operation in operations]
    if snapshot:
        try:
            with service.repository.unit_of_work() as work:
                responses = _run_all(service, calls, work, stop_at_error=True)
        except _RollBack as failed:
            responses = [failed.response]
        return Answer(200, {"responses": responses})
    return Answer(200, {"responses": _run_all(service, calls, None, stop_at_error=not continue_on_error)})


def _run_all(
    service: BusinessCentral,
    calls: list[tuple[dict[str, Any], Call]],
    work: UnitOfWork | None,
    *,
    stop_at_error: bool,
) -> list[dict[str, Any]]:
    """Run the operations in order; consecutive creates in one entity set go in as one insert.

    With a shared unit of work (snapshot) the first failure raises _RollBack.
    """
    responses: list[dict[str, Any]] = []
    index = 0
    while index < len(calls):
        group = _creates_from(calls, index)
        answers = _run_group(service, group, work) if len(group) > 1 else None
        if answers is None:
            operation, call = calls[index]
            answers = [_answer(service, operation, call, work)]
        for (operation, _), answer in zip(calls[index:], answers, strict=False):
            response = _response(operation, answer)
            if answer.status >= 400 and work is not None:
                raise _RollBack(response)
            responses.append(response)
            if answer.status >= 400 and stop_at_error:
                return responses
        index += len(answers)
    return responses


def _creates_from(calls: list[tuple[dict[str, Any], Call]], start: int) -> list[tuple[dict[str, Any], Call]]:
    """The run of plain creates starting at `start`: POST, same URL and headers, a JSON body."""
    first = calls[start][1]
    group = []
    for operation, call in calls[start:]:
        plain = call.method == "POST" and isinstance(call.body, dict) and "$expand" not in call.query
        if not plain or call.path != first.path or call.query != first.query or call.headers != first.headers:
            break
        group.append((operation, call))
    return group


def _run_group(
    service: BusinessCentral, group: list[tuple[dict[str, Any], Call]], work: UnitOfWork | None
) -> list[Answer] | None:
    """Answers for a run of creates, or None when they must run one by one (deep inserts, nested
    lines, a duplicate key, or a URL that is not a plain entity set)."""
    calls = [call for _, call in group]
    if any(_has_collection(call.body) for call in calls):
        return None
    try:
        if work is not None:
            return service.create_group(calls, work)
        with service.repository.unit_of_work() as own:
            return service.create_group(calls, own)
    except (BCError, ValueError):
        return None  # one by one, each operation gets its own (error) answer


def _has_collection(body: Any) -> bool:
    return isinstance(body, dict) and any(isinstance(value, list) for value in body.values())


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    requests = document.get("requests")
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise bad_request("Invalid batch request: 'requests' must be an array of objects")
    if len(requests) > MAX_OPERATIONS:
        raise BCError(
            400,
            "BadRequest",
            f"The batch request contains {len(requests)} operations; the maximum is {MAX_OPERATIONS}",
        )
    ids = [str(r.get("id", "")) for r in requests]
    if any(not i for i in ids) or len(set(ids)) != len(ids):
        raise bad_request("Invalid batch request: every operation needs a unique 'id'")
    for request in requests:
        if str(request.get("method", "")).upper() not in _METHODS:
            raise bad_request(
                f"Invalid batch request: method '{request.get('method')}' of operation {request['id']}"
            )
        if not isinstance(request.get("url"), str) or not request["url"]:
            raise bad_request(f"Invalid batch request: operation {request['id']} has no 'url'")
    return requests


def _call(operation: dict[str, Any], base_path: str, actor: str | None) -> Call:
    url = urlsplit(operation["url"])
    path = url.path
    if not path.startswith("/v2.0/"):
        path = f"{base_path}/{path.lstrip('/')}"
    headers = {str(k).lower(): str(v) for k, v in (operation.get("headers") or {}).items()}
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    if "company" in headers and "company" not in query:
        query["company"] = headers["company"]  # Microsoft's batch example names the company in a header
    body = operation.get("body")
    return Call(
        operation["method"].upper(), path, query, headers, body if isinstance(body, dict) else None, actor
    )


def _answer(
    service: BusinessCentral, operation: dict[str, Any], call: Call, work: UnitOfWork | None
) -> Answer:
    if call.method in ("POST", "PATCH") and not isinstance(operation.get("body"), dict):
        return error_answer(bad_request("Invalid Request Body: the operation needs a JSON object body"))
    return service.handle(call, work)


def _response(operation: dict[str, Any], answer: Answer) -> dict[str, Any]:
    response = {"id": str(operation["id"]), "status": answer.status, "headers": _headers(answer)}
    if answer.body is not None:
        response["body"] = answer.body
    return response


def _headers(answer: Answer) -> dict[str, str]:
    headers = {"content-type": "application/json; odata.metadata=minimal"} if answer.body is not None else {}
    headers.update(answer.headers)
    return headers


def service_root(service: ServicePath) -> str:
    tenant = f"/{service.tenant}" if service.tenant else ""
    return f"/v2.0{tenant}/{service.environment}/{service.pages.route.path}"
