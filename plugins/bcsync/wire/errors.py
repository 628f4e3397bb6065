"""Typed client errors and the one place that decides: retry the request, fail the record, or fail the task.

Both services answer errors as `{"error": {"code": ..., "message": ...}}`; `classify` reads either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

# Statuses worth sending again after a pause: throttling, gateways and server-side blips.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class ClientError(Exception):
    """Base of every error the BC and Dataverse clients raise."""


class TransientServiceError(ClientError):
    """Retry the request: throttled, gateway error, timeout or dropped connection."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class RecordRejected(ClientError):
    """Fail this record: the service refused it (validation, missing, duplicate, stale ETag, too large)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str = "",
        record_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.record_id = record_id

    def for_record(self, record_id: str | None) -> RecordRejected:
        """The same rejection, naming the record it belongs to."""
        return RecordRejected(self.message, status=self.status, code=self.code, record_id=record_id)

    def __str__(self) -> str:
        where = f" (record {self.record_id})" if self.record_id else ""
        code = f" {self.code}" if self.code else ""
        return f"HTTP {self.status}{code}: {self.message}{where}"


class TaskFailure(ClientError):
    """Fail the task: nothing later in this run can succeed without a change or Airflow's own retry."""


class AuthenticationFailed(TaskFailure):
    """No token, or the service refused ours even after a refresh (401), or lacks privileges (403)."""


class ConfigurationError(TaskFailure):
    """The Airflow Connection (or a call's arguments) cannot work as given."""


class UnexpectedResponse(TaskFailure):
    """The service answered in a shape the protocol does not allow (not JSON, a batch part missing)."""


class ServiceUnavailable(TaskFailure):
    """Retries are exhausted; Airflow's task retry takes over."""


class OutcomeUnknown(TaskFailure):
    """The connection broke after a request that creates records was sent: it may have been applied.

    Sending it again could create duplicates, so the task fails instead; its retry reconciles what
    was journalled as pending against what the service now holds.
    """


def service_error(body: Any) -> tuple[str, str]:
    """The `(code, message)` of a service error body, or empty strings when it has none."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body or "null")
        except ValueError:
            text = body.decode(errors="replace") if isinstance(body, bytes) else body
            return "", text.strip()[:500]
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return str(error.get("code") or ""), str(error.get("message") or "")
    return "", ""


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` as seconds; HTTP dates are not used by either service and count as absent."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def classify_status(
    status: int, headers: Mapping[str, str], body: Any, *, what: str = "request"
) -> ClientError | None:
    """The error a response stands for (None when it succeeded); also used for `$batch` parts."""
    if status < 400:
        return None
    code, message = service_error(body)
    message = message or f"{what} failed with HTTP {status}"
    described = f"HTTP {status}{f' {code}' if code else ''}: {message}"
    if status in TRANSIENT_STATUSES:
        return TransientServiceError(
            described,
            status=status,
            code=code,
            retry_after=retry_after_seconds(headers),
        )
    if status in (401, 403):
        return AuthenticationFailed(described)
    return RecordRejected(message, status=status, code=code)


def classify(response: requests.Response) -> ClientError | None:
    """The error a `requests` response stands for, or None when it succeeded."""
    return classify_status(
        response.status_code,
        response.headers,
        response.content,
        what=getattr(response.request, "method", None) or "request",
    )
