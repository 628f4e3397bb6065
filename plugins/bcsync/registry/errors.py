"""Registry problems, each naming its file, mapping and field, and the error that lists them all."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    mapping: str | None = None
    field: str | None = None  # the field's label, e.g. "'Address 2' (bc_field addressLine2)"

    def __str__(self) -> str:
        parts = [self.file]
        if self.mapping:
            parts.append(f"mapping {self.mapping}")
        if self.field:
            parts.append(f"field {self.field}")
        return ": ".join([*parts, self.message])


class RegistryError(Exception):
    """The mapping registry is invalid; `problems` lists every problem found, one per line."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the mapping registry:"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))


def field_label(raw: Any, index: int) -> str:
    """Name a field from its raw YAML, the way `IntegrationFieldMapping.label` does once it parses."""
    if not isinstance(raw, dict):
        return f"#{index + 1}"
    caption, bc_field, crm_field = raw.get("bc_caption"), raw.get("bc_field"), raw.get("crm_field")
    if caption and bc_field:
        return f"'{caption}' (bc_field {bc_field})"
    if caption:
        return f"'{caption}'"
    if crm_field:
        return f"(crm_field {crm_field})"
    return f"#{index + 1}"


def _item(container: Any, key: str, index: Any) -> Any:
    items = container.get(key) if isinstance(container, dict) else None
    if isinstance(items, list) and isinstance(index, int) and 0 <= index < len(items):
        return items[index]
    return None


def _entry_name(raw: Any, index: int) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return str(name) if name else f"#{index + 1}"


def problems_from_validation(file: str, raw: Any, error: ValidationError) -> list[Problem]:
    """Translate pydantic's errors into problems located by mapping and field, with the key path."""
    problems = []
    for detail in error.errors():
        loc = list(detail["loc"])
        mapping = field = None
        if len(loc) >= 2 and loc[0] in ("mappings", "option_mappings"):
            entry = _item(raw, str(loc[0]), loc[1])
            kind = "mapping" if loc[0] == "mappings" else "option mapping"
            mapping = _entry_name(entry, loc[1]) if kind == "mapping" else None
            if kind == "option mapping":
                loc = [f"option mapping {_entry_name(entry, loc[1])}", *loc[2:]]
            else:
                loc = loc[2:]
            if kind == "mapping" and len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
                field = field_label(_item(entry, "fields", loc[1]), loc[1])
                loc = loc[2:]
        problems.append(Problem(file, _message(loc, detail), mapping, field))
    return problems


def _message(loc: Iterable[Any], detail: dict[str, Any]) -> str:
    path = ".".join(str(part) for part in loc)
    kind = detail["type"]
    if kind == "missing":
        text = "required key is missing"
    elif kind == "extra_forbidden":
        text = "unknown key"
    else:
        text = str(detail["msg"]).removeprefix("Value error, ")
        if kind.startswith("enum") or kind.endswith("_type") or kind == "literal_error":
            text += f" (got {detail.get('input')!r})"
    return f"{path}: {text}" if path else text
