"""`classify`: every status maps to retry the request, fail the record, or fail the task."""

from __future__ import annotations

import pytest

from bcsync.wire.errors import (
    AuthenticationFailed,
    RecordRejected,
    TaskFailure,
    TransientServiceError,
    classify_status,
)

DATAVERSE_BODY = b'{"error":{"code":"0x80044331","message":"A validation error occurred."}}'
BC_BODY = (
    b'{"error":{"code":"Request_EntityChanged","message":"Another user has already changed the record."}}'
)


@pytest.mark.parametrize("status", [200, 201, 204, 304])
def test_success_is_no_error(status: int) -> None:
    assert classify_status(status, {}, b"") is None


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_throttling_gateways_and_timeouts_retry_the_request(status: int) -> None:
    error = classify_status(status, {"Retry-After": "7"}, b"")

    assert isinstance(error, TransientServiceError)
    assert error.status == status and error.retry_after == 7.0


def test_retry_after_missing_or_unreadable_means_no_hint() -> None:
    assert classify_status(429, {}, b"").retry_after is None  # type: ignore[union-attr]
    assert classify_status(503, {"Retry-After": "soon"}, b"").retry_after is None  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [400, 404, 405, 409, 412, 413])
def test_record_level_statuses_fail_the_record_with_the_service_code(status: int) -> None:
    error = classify_status(status, {}, DATAVERSE_BODY)

    assert isinstance(error, RecordRejected)
    assert (error.status, error.code, error.message) == (status, "0x80044331", "A validation error occurred.")


def test_bc_error_json_is_read_the_same_way() -> None:
    error = classify_status(409, {}, BC_BODY)

    assert isinstance(error, RecordRejected)
    assert error.code == "Request_EntityChanged"
    assert str(error.for_record("c0ffee")) == (
        "HTTP 409 Request_EntityChanged: Another user has already changed the record. (record c0ffee)"
    )


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses_fail_the_task(status: int) -> None:
    error = classify_status(
        status, {}, b'{"error":{"code":"0x80048306","message":"Principal user is missing"}}'
    )

    assert isinstance(error, AuthenticationFailed) and isinstance(error, TaskFailure)
    assert "Principal user is missing" in str(error)


def test_non_json_error_bodies_keep_their_text() -> None:
    error = classify_status(400, {}, b"<html>Bad Request</html>")

    assert isinstance(error, RecordRejected) and error.message == "<html>Bad Request</html>"
