"""docker-compose.yaml and the Dockerfile read as Docker Compose and Docker would, without Docker.

YAML anchors and merge keys are resolved by the YAML loader (an alias to no anchor fails the load), and
`${NAME:-default}` / `${NAME-default}` / `$$` are interpolated as Compose does with no variable set: the
stack as it runs from a bare checkout.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"

_VARIABLE_START = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:-|-|:\?|\?|:\+|\+)?")


class InterpolationError(ValueError):
    """A `$` expression Compose would refuse or that needs a variable set."""


def interpolate(text: str, environment: dict[str, str] | None = None) -> str:
    """`text` with Compose's variable syntax replaced (nested defaults too)."""
    environment = environment or {}
    out: list[str] = []
    position = 0
    while position < len(text):
        if text.startswith("$$", position):
            out.append("$")
            position += 2
            continue
        if text[position] != "$":
            out.append(text[position])
            position += 1
            continue
        match = _VARIABLE_START.match(text, position)
        if not match:
            raise InterpolationError(f"unsupported $ expression at {text[position : position + 30]!r}")
        end = _closing_brace(text, match.end())
        value = environment.get(match["name"])
        operand = interpolate(text[match.end() : end], environment)
        operator = match["op"] or ""
        if operator in (":-", "-"):
            unset = value is None or (operator == ":-" and value == "")
            out.append(operand if unset else value or "")
        elif operator in (":?", "?"):
            if value is None or (operator == ":?" and value == ""):
                raise InterpolationError(f"${{{match['name']}}} must be set: {operand}")
            out.append(value)
        elif operator in (":+", "+"):
            out.append(operand if value else "")
        else:
            out.append(value or "")
        position = end + 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing a `${`: as Compose counts, only `${` opens a level, a bare `{` does not."""
    depth = 1
    index = start
    while index < len(text):
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise InterpolationError(f"unclosed ${{ in {text!r}")


def _interpolate_tree(node: Any, environment: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, environment) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolate_tree(value, environment) for value in node]
    if isinstance(node, str):
        return interpolate(node, environment)
    return node


def load_compose(text: str | None = None, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose document, anchors merged, variables interpolated."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text() if text is None else text)
    return _interpolate_tree(raw, environment or {})


def load_raw_compose(text: str | None = None) -> dict[str, Any]:
    """The compose document with anchors merged but variables as written."""
    return yaml.safe_load(COMPOSE_FILE.read_text() if text is None else text)


def command_words(command: str | list[str] | None) -> list[str]:
    """A service's command as the words the entrypoint receives."""
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict (Compose allows a mapping or a list of NAME=value)."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {str(key): "" if value is None else str(value) for key, value in environment.items()}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile_instructions(text: str | None = None) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for line in (DOCKERFILE.read_text() if text is None else text).splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    instructions = []
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return instructions
