"""The `Prefer` request header(s): page size, return=representation, change tracking, annotations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from sandbox.odata.errors import ODataError


@dataclass(frozen=True)
class Preferences:
    max_page_size: int | None = None  # odata.maxpagesize=N
    return_representation: bool = False  # return=representation (return=minimal is the default)
    track_changes: bool = False  # odata.track-changes
    continue_on_error: bool = False  # odata.continue-on-error
    include_annotations: tuple[str, ...] = ()  # odata.include-annotations="a,b.*"

    def wants_annotation(self, name: str) -> bool:
        """Whether `odata.include-annotations` asked for `name` (patterns such as `*`, `Namespace.*`)."""
        return any(fnmatchcase(name, pattern) for pattern in self.include_annotations)


def parse_prefer(headers: str | Iterable[str] | None) -> Preferences:
    """Preferences from one or several `Prefer` header values (each possibly comma-separated).

    Unknown preferences are ignored, as RFC 7240 asks; a malformed page size is a 400.
    """
    if headers is None:
        return Preferences()
    if isinstance(headers, str):
        headers = [headers]
    values: dict[str, object] = {}
    for header in headers:
        for preference in _split_outside_quotes(header, ","):
            name, _, value = preference.partition(";")[0].partition("=")
            name = name.strip().lower()
            value = value.strip()
            if name == "odata.maxpagesize":
                values["max_page_size"] = _page_size(value)
            elif name == "return":
                values["return_representation"] = value.lower() == "representation"
            elif name == "odata.track-changes":
                values["track_changes"] = True
            elif name == "odata.continue-on-error":
                values["continue_on_error"] = value.lower() != "false"
            elif name == "odata.include-annotations":
                patterns = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
                values["include_annotations"] = tuple(p.strip() for p in patterns.split(",") if p.strip())
    return Preferences(**values)  # type: ignore[arg-type]


def _page_size(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise ODataError(
            f"The value '{value}' of the odata.maxpagesize preference must be a positive integer."
        )
    return int(value)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    quoted = False
    current: list[str] = []
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]
