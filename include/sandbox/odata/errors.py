"""Errors for malformed or unsupported OData queries; every one is a client error (HTTP 400)."""

from __future__ import annotations


class ODataError(Exception):
    """A query the services cannot answer. `position` is the 0-based offset in the option text."""

    status = 400

    def __init__(self, message: str, *, position: int | None = None) -> None:
        self.message = message
        self.position = position
        super().__init__(message)


class ODataSyntaxError(ODataError):
    """The text does not follow the OData grammar."""

    def __init__(self, message: str, text: str, position: int) -> None:
        super().__init__(f"Syntax error at position {position} in '{text}': {message}", position=position)
        self.text = text


class UnknownProperty(ODataError):
    """A property the entity does not have."""

    def __init__(self, name: str, entity: str, *, position: int | None = None) -> None:
        super().__init__(f"Could not find a property named '{name}' on type '{entity}'.", position=position)
        self.name = name
        self.entity = entity


class UnsupportedQueryOption(ODataError):
    """Valid OData that the services do not implement (for example `$skip`, navigation paths)."""


class IncompatibleLiteral(ODataError):
    """A literal that cannot be compared with the property's type (`name eq 5`, `modifiedon eq 'x'`)."""
