"""Read include/mappings/*.yaml into a validated `Registry`, cached by directory and file mtimes.

DAG files call `load_registry()` at parse time, so a second call with unchanged files costs one
directory listing and a `stat` per file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bcsync.registry.errors import Problem, RegistryError, problems_from_validation
from bcsync.registry.model import IntegrationTableMapping, MappingFile, OptionMapping
from bcsync.registry.registry import Registry
from bcsync.registry.validation import Located, validate

ENV_DIRECTORY = "BCSYNC_MAPPINGS_DIR"
REPO_ROOT = Path(__file__).resolve().parents[3]  # plugins/bcsync/registry/loader.py → the checkout
DEFAULT_DIRECTORY = REPO_ROOT / "include" / "mappings"

_Fingerprint = tuple[tuple[str, int, int], ...]
_cache: dict[Path, tuple[_Fingerprint, Registry]] = {}
_cache_lock = threading.Lock()


def mappings_directory(directory: Path | str | None = None) -> Path:
    """The directory given, else $BCSYNC_MAPPINGS_DIR, else include/mappings in this checkout."""
    if directory is None:
        directory = os.environ.get(ENV_DIRECTORY) or DEFAULT_DIRECTORY
    return Path(directory).expanduser().resolve()


def load_registry(directory: Path | str | None = None) -> Registry:
    """Load and validate every `*.yaml` in the directory; raise `RegistryError` listing all problems."""
    path = mappings_directory(directory)
    if not path.is_dir():
        raise RegistryError([Problem(display_path(path), "the mappings directory does not exist")])
    files = sorted(p for p in path.glob("*.yaml") if p.is_file())
    fingerprint = tuple((p.name, *_stat(p)) for p in files)
    with _cache_lock:
        cached = _cache.get(path)
    if cached and cached[0] == fingerprint:
        return cached[1]
    registry = _build(path, files)
    with _cache_lock:
        _cache[path] = (fingerprint, registry)
    return registry


def display_path(path: Path) -> str:
    """Paths inside the checkout are shown relative to it (include/mappings/customer.yaml)."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def _build(directory: Path, files: list[Path]) -> Registry:
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(display_path(directory), "no *.yaml mapping files"))
    mappings: list[Located[IntegrationTableMapping]] = []
    options: list[Located[OptionMapping]] = []
    unparsed: set[str] = set()  # names declared in files that failed, so references to them stay quiet
    for path in files:
        shown = display_path(path)
        raw = _read_yaml(path, shown, problems)
        parsed = _validate_file(raw, shown, problems) if raw is not None else None
        if parsed is None:
            unparsed |= _declared_names(raw)
            continue
        mappings += [Located(shown, m) for m in parsed.mappings]
        options += [Located(shown, o) for o in parsed.option_mappings]
    problems += validate(mappings, options, frozenset(unparsed))
    if problems:
        raise RegistryError(problems)
    return Registry(
        mappings=tuple(m.item for m in mappings),
        option_mappings={o.item.name: o.item for o in options},
        sources={m.item.name: m.file for m in mappings},
    )


def _read_yaml(path: Path, shown: str, problems: list[Problem]) -> Any:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problems.append(Problem(shown, f"invalid YAML: {where}{error.problem or error}"))
        return None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        problems.append(Problem(shown, f"cannot read the file: {error}"))
        return None
    if raw is None:
        problems.append(Problem(shown, "the file is empty"))
    return raw


def _validate_file(raw: Any, shown: str, problems: list[Problem]) -> MappingFile | None:
    if not isinstance(raw, dict) or not ({"mappings", "option_mappings"} & raw.keys()):
        problems.append(Problem(shown, "expected a YAML mapping with a 'mappings' or 'option_mappings' list"))
        return None
    try:
        return MappingFile.model_validate(raw)
    except ValidationError as error:
        problems.extend(problems_from_validation(shown, raw, error))
        return None


def _declared_names(raw: Any) -> set[str]:
    names = set()
    for key in ("mappings", "option_mappings"):
        entries = raw.get(key) if isinstance(raw, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                names.add(entry["name"])
                names.update(a for a in entry.get("aliases") or [] if isinstance(a, str))
    return names


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):
    """The safe loader, refusing a key given twice (YAML would silently keep the last one)."""


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice (line {line})", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
