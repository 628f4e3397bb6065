"""Business Central's error JSON and the errors the BC service raises while serving a request.

Every failure answers `{"error": {"code": "...", "message": "...  CorrelationId: <guid>."}}` with
BC's own codes (api-protocols.md B.8), never a bare status.
"""

from __future__ import annotations

import json
import uuid

from starlette.responses import Response


class BCError(Exception):
    """A request BC refuses: the HTTP status, BC's error code and the message shown to the caller."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """BC's error object; the message ends with a correlation id like the real service's."""
    text = message if message.endswith(".") else f"{message}."
    return {"error": {"code": code, "message": f"{text}  CorrelationId: {uuid.uuid4()}."}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """BC's error response (also used by the server's auth and protection middleware)."""
    return Response(
        json.dumps(error_body(code, message)),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


def not_found_segment(segment: str) -> BCError:
    return BCError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{segment}'")


def bad_request(message: str) -> BCError:
    return BCError(400, "BadRequest", message)


def method_not_allowed(method: str, what: str) -> BCError:
    return BCError(405, "BadRequest_MethodNotAllowed", f"'{method}' requests for '{what}' are not allowed")


def record_not_found(caption: str, key: str) -> BCError:
    return BCError(
        404,
        "Internal_RecordNotFound",
        f"The {caption} does not exist. Identification fields and values: Id='{key}'",
    )


def entity_changed() -> BCError:
    return BCError(409, "Request_EntityChanged", "Another user has already changed the record")
