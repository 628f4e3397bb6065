"""The protocol pieces under both hooks, without Airflow: Entra ID tokens, OData query/paging/batching,
the HTTPS transport with its retries, and the typed errors that decide retry / fail the record / fail
the task."""

from bcsync.wire.errors import (
    AuthenticationFailed,
    ClientError,
    ConfigurationError,
    RecordRejected,
    ServiceUnavailable,
    TaskFailure,
    TransientServiceError,
    UnexpectedResponse,
)
from bcsync.wire.writes import WriteResult

__all__ = [
    "AuthenticationFailed",
    "ClientError",
    "ConfigurationError",
    "RecordRejected",
    "ServiceUnavailable",
    "TaskFailure",
    "TransientServiceError",
    "UnexpectedResponse",
    "WriteResult",
]
