"""Checks on a JSON request body that JSON parsing alone does not make, shared by both services."""

from __future__ import annotations

from typing import Any


def unpaired_surrogate(document: Any) -> str | None:
    """Describe the first unpaired UTF-16 surrogate in the document's strings (keys included), if any.

    JSON may escape half of a surrogate pair (`"\\ud83d"`) and Python decodes it into a str that has
    no UTF-8 form, so it could be neither stored nor sent back: the real services refuse the request.
    """
    if isinstance(document, str):
        try:
            document.encode("utf-8")
        except UnicodeEncodeError as error:
            surrogate = ord(document[error.start])
            return f"the string {document[: error.start]!r}… has an unpaired surrogate \\u{surrogate:04x}"
        return None
    if isinstance(document, dict):
        items = (part for pair in document.items() for part in pair)
    elif isinstance(document, list):
        items = iter(document)
    else:
        return None
    return next((found for item in items if (found := unpaired_surrogate(item)) is not None), None)
