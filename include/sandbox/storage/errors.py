"""Service-neutral storage errors; the Dataverse and BC services map them to their own error JSON."""

from __future__ import annotations

from typing import Any


class StorageError(Exception):
    """Base of every error the repository raises for a request it cannot carry out."""


class NotFound(StorageError):
    """No row with that key (in that company, for company-scoped tables)."""

    def __init__(self, logical_name: str, key: Any) -> None:
        self.logical_name = logical_name
        self.key = key
        super().__init__(f"{logical_name} with key {key!r} does not exist")


class DuplicateKey(StorageError):
    """A row with the same primary key or alternate key already exists.

    `key_name` is the schema key attribute for the primary key, else the alternate key's name;
    `values` maps the key's attributes to the clashing values.
    """

    def __init__(self, logical_name: str, key_name: str, values: dict[str, Any]) -> None:
        self.logical_name = logical_name
        self.key_name = key_name
        self.values = values
        shown = ", ".join(f"{name}={value!r}" for name, value in values.items())
        super().__init__(f"a {logical_name} with the same {key_name} already exists ({shown})")


class VersionMismatch(StorageError):
    """The caller's expected row version (from an ETag / If-Match) is not the stored one."""

    def __init__(self, logical_name: str, key: Any, expected: int, actual: int) -> None:
        self.logical_name = logical_name
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{logical_name} {key!r} has version {actual}, not the expected {expected}: "
            "it was changed by someone else"
        )


class ValidationFailed(StorageError):
    """A written value breaks the schema: unknown or read-only attribute, wrong type, too long..."""

    def __init__(self, attribute: str, message: str) -> None:
        self.attribute = attribute
        self.message = message
        super().__init__(f"{attribute}: {message}")
