"""Dataverse error responses: `{"error":{"code":"0x…","message":"…"}}` and the codes the Web API uses.

`DataverseError` is raised anywhere below the routes; `error_response` renders it. Storage errors
are translated in one place (`from_storage`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from sandbox.storage.errors import DuplicateKey, NotFound, StorageError, ValidationFailed, VersionMismatch

ODATA_ERROR = "0x80060888"  # query/URL/payload the OData layer cannot read
OBJECT_DOES_NOT_EXIST = "0x80040217"
DUPLICATE_RECORD = "0x80040237"
CONCURRENCY_MISMATCH = "0x80060882"
VALIDATION = "0x80044331"
INVALID_ARGUMENT = "0x80040203"
NOT_SUPPORTED = "0x8004800d"
CHANGE_TRACKING_EXPIRED = "0x80044352"
REQUEST_TOO_LARGE = "0x8005f103"

DUPLICATE_MESSAGE = "A record with matching key values already exists."
VERSION_MESSAGE = "The version of the existing record doesn't match the RowVersion property provided."
JSON_TYPE = "application/json; odata.metadata=minimal"


class DataverseError(Exception):
    """A request the service refuses, with the status, hex code and message Dataverse would send."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> bytes:
        return error_body(self.code, self.message)


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """Dataverse's error JSON; also used by the auth and protection middleware in front of the app."""
    all_headers = {"OData-Version": "4.0", **(headers or {})}
    return Response(error_body(code, message), status_code=status, media_type=JSON_TYPE, headers=all_headers)


def bad_request(message: str, code: str = ODATA_ERROR) -> DataverseError:
    return DataverseError(400, code, message)


def unknown_property(name: str, logical_name: str) -> DataverseError:
    return bad_request(
        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{logical_name}'."
    )


def record_not_found(logical_name: str, key: Any) -> DataverseError:
    return DataverseError(
        404, OBJECT_DOES_NOT_EXIST, f"Entity '{logical_name}' With Id = {key} Does Not Exist"
    )


def segment_not_found(segment: str) -> DataverseError:
    return DataverseError(404, ODATA_ERROR, f"Resource not found for the segment '{segment}'.")


def invalid_key(logical_name: str) -> DataverseError:
    resource = f"Microsoft.Dynamics.CRM.{logical_name}"
    return bad_request(
        f"The key in the request URI is not valid for resource '{resource}'. Ensure that the names and "
        f"number of key properties match the declared or alternate key properties for the resource "
        f"'{resource}'."
    )


def duplicate_record() -> DataverseError:
    return DataverseError(412, DUPLICATE_RECORD, DUPLICATE_MESSAGE)


def version_mismatch() -> DataverseError:
    return DataverseError(412, CONCURRENCY_MISMATCH, VERSION_MESSAGE)


def from_storage(error: StorageError, logical_name: str, max_lengths: dict[str, int]) -> DataverseError:
    """The Dataverse answer to a repository error."""
    if isinstance(error, NotFound):
        return record_not_found(error.logical_name, error.key)
    if isinstance(error, DuplicateKey):
        return duplicate_record()
    if isinstance(error, VersionMismatch):
        return version_mismatch()
    if isinstance(error, ValidationFailed):
        return validation_failed(error, logical_name, max_lengths)
    return DataverseError(500, "0x80040216", str(error))


def validation_failed(
    error: ValidationFailed, logical_name: str, max_lengths: dict[str, int]
) -> DataverseError:
    attribute = error.attribute
    if "maximum length" in error.message and attribute in max_lengths:
        return bad_request(
            f"A validation error occurred.  The length of the '{attribute}' attribute of the "
            f"'{logical_name}' entity exceeded the maximum allowed length of '{max_lengths[attribute]}'.",
            VALIDATION,
        )
    if error.message == "a value is required":
        return bad_request(
            f"The '{attribute}' attribute of the '{logical_name}' entity is required and cannot be null.",
            INVALID_ARGUMENT,
        )
    where = f" on the '{logical_name}' entity" if logical_name else ""
    return bad_request(
        f"A validation error occurred. The value of '{attribute}'{where} is not valid: {error.message}.",
        VALIDATION,
    )
