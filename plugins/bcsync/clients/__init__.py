"""HTTPS clients for Business Central and Dataverse: hooks, Entra ID tokens, OData, retries, errors."""

from bcsync.clients.bc import BusinessCentralHook
from bcsync.clients.dataverse import ChangeFeed, ChangePage, DataverseHook
from bcsync.clients.errors import (
    AuthenticationFailed,
    ClientError,
    ConfigurationError,
    RecordRejected,
    ServiceUnavailable,
    TaskFailure,
    TransientServiceError,
    UnexpectedResponse,
)
from bcsync.clients.writes import WriteResult

__all__ = [
    "AuthenticationFailed",
    "BusinessCentralHook",
    "ChangeFeed",
    "ChangePage",
    "ClientError",
    "ConfigurationError",
    "DataverseHook",
    "RecordRejected",
    "ServiceUnavailable",
    "TaskFailure",
    "TransientServiceError",
    "UnexpectedResponse",
    "WriteResult",
]
