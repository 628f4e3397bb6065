"""Read the mapping YAML files into a `Registry`, cached by directory and file mtimes.

DAG files call `load_registry()` at parse time, so a second call with unchanged files costs one
directory listing and a `stat` per file. A file or mapping that fails to load is left out and listed
in `Registry.broken` (strict callers get a `RegistryError` instead).
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bcsync.registry.broken import (
    MAPPING,
    OPTION_MAPPING,
    BrokenMapping,
    broken_entry,
    broken_file,
    set_aside,
)
from bcsync.registry.errors import Problem, RegistryError, problems_from_validation
from bcsync.registry.model import IntegrationTableMapping, MappingFile, OptionMapping, OwnershipModel
from bcsync.registry.ownership import ownership_model_in_effect, under_ownership_model
from bcsync.registry.registry import Registry
from bcsync.registry.validation import Located, validate

ENV_DIRECTORY = "BCSYNC_MAPPINGS_DIR"
REPO_ROOT = Path(__file__).resolve().parents[3]  # plugins/bcsync/registry/loader.py → the checkout
# Installed from a wheel, this file is not in a checkout and there is no include/mappings of its own.
CHECKOUT_DIRECTORY = (
    REPO_ROOT / "include" / "mappings" if (REPO_ROOT / "plugins" / "bcsync").is_dir() else None
)
_SECTIONS = {"mappings": MAPPING, "option_mappings": OPTION_MAPPING}

_Fingerprint = tuple[tuple[str, int, int], ...]
_cache: dict[tuple[Path, OwnershipModel], tuple[_Fingerprint, Registry]] = {}
_cache_lock = threading.Lock()


def mappings_directory(directory: Path | str | None = None) -> Path:
    """Where the mappings are: the directory given, else the first of `candidate_directories()` that
    exists; `RegistryError` listing the places looked at when none does."""
    if directory is not None:
        return Path(directory).expanduser().resolve()
    candidates = candidate_directories()
    for _, candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    looked = "; ".join(f"{path} ({why})" for why, path in candidates)
    raise RegistryError([Problem("the mappings directory", f"not found; looked at {looked}")])


def candidate_directories() -> list[tuple[str, Path]]:
    """(why, path) in the order looked at: $BCSYNC_MAPPINGS_DIR alone when set; else include/mappings
    next to Airflow's dags folder (the Astro project layout), then include/mappings of this checkout."""
    if value := os.environ.get(ENV_DIRECTORY):
        return [(f"${ENV_DIRECTORY}", Path(value).expanduser())]
    dags_folder = _airflow_dags_folder()
    candidates = [("beside Airflow's dags folder", dags_folder.parent / "include" / "mappings")]
    if CHECKOUT_DIRECTORY is not None:
        candidates.append(("in the bcsync checkout", CHECKOUT_DIRECTORY))
    return candidates


def _airflow_dags_folder() -> Path:
    """Airflow's `[core] dags_folder`, read only where that costs nothing: from the configuration already
    loaded in an Airflow process (DAG parsing, tasks, the API server), else from the environment as
    Airflow reads it. Importing Airflow just for this would cost seconds in `bin/bcsync`."""
    for module in ("airflow.sdk.configuration", "airflow.configuration"):
        conf = getattr(sys.modules.get(module), "conf", None)
        if conf is not None:
            try:
                value = conf.get("core", "dags_folder", fallback=None)
            except Exception:  # a half-initialised configuration: fall back to the environment
                value = None
            if value:
                return Path(value).expanduser()
    if value := os.environ.get("AIRFLOW__CORE__DAGS_FOLDER"):
        return Path(value).expanduser()
    return Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "dags"  # Airflow's defaults


def load_registry(
    directory: Path | str | None = None,
    *,
    strict: bool = False,
    ownership_model: OwnershipModel | str | None = None,
) -> Registry:
    """Load every `*.yaml` in the mappings directory.

    The registry holds the usable mappings; `registry.broken` lists the others with their problems, and
    `registry.problems` every problem found. With `strict`, any problem raises `RegistryError` listing
    them all. A directory that is missing or has no YAML files raises in either case. The mappings are
    those of the ownership model in effect (`$BCSYNC_OWNERSHIP_MODEL`, default Person; see
    `bcsync.registry.ownership`).
    """
    model = ownership_model_in_effect(ownership_model)
    path = mappings_directory(directory)
    if not path.is_dir():
        raise RegistryError([Problem(display_path(path), "the mappings directory does not exist")])
    files = sorted(p for p in path.glob("*.yaml") if p.is_file())
    if not files:
        raise RegistryError([Problem(display_path(path), "no *.yaml mapping files")])
    fingerprint = tuple((p.name, *_stat(p)) for p in files)
    with _cache_lock:
        cached = _cache.get((path, model))
    if cached and cached[0] == fingerprint:
        registry = cached[1]
    else:
        registry = _build(files, model)
        with _cache_lock:
            _cache[path, model] = (fingerprint, registry)
    if strict and registry.problems:
        raise RegistryError(registry.problems)
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


def _build(files: list[Path], model: OwnershipModel) -> Registry:
    problems: list[Problem] = []
    mappings: list[Located[IntegrationTableMapping]] = []
    options: list[Located[OptionMapping]] = []
    broken: list[BrokenMapping] = []
    for path in files:
        loaded = _load_file(path, display_path(path))
        problems += loaded.problems
        mappings += loaded.mappings
        options += loaded.options
        broken += loaded.broken
    mappings = under_ownership_model(mappings, model)
    unparsed = frozenset(name for b in broken for name in b.declares)
    problems += validate(mappings, options, unparsed)
    partition = set_aside(mappings, options, problems, broken)
    return Registry(
        mappings=tuple(m.item for m in partition.mappings),
        option_mappings={o.item.name: o.item for o in partition.options},
        sources={o.item.name: o.file for o in partition.options}
        | {m.item.name: m.file for m in partition.mappings},
        problems=tuple(problems),
        broken=tuple(partition.broken),
    )


class _LoadedFile:
    """What one file gave: its usable entries, its broken ones, and the problems found in it."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.problems: list[Problem] = []
        self.mappings: list[Located[IntegrationTableMapping]] = []
        self.options: list[Located[OptionMapping]] = []
        self.broken: list[BrokenMapping] = []

    def fail(self, problems: list[Problem], declares: list[str], kind: str = MAPPING) -> _LoadedFile:
        """The whole file is unusable."""
        self.problems += problems
        self.broken.append(broken_file(self.shown, declares, problems, kind))
        return self


def _load_file(path: Path, shown: str) -> _LoadedFile:
    loaded = _LoadedFile(shown)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return loaded.fail([Problem(shown, f"cannot read the file: {error}")], [])
    raw, problem = _parse_yaml(text, shown)
    if problem is not None:
        return loaded.fail([problem], _names_in_text(text), _kind_of_text(text))
    if not isinstance(raw, dict) or not (_SECTIONS.keys() & raw.keys()):
        message = "expected a YAML mapping with a 'mappings' or 'option_mappings' list"
        return loaded.fail([Problem(shown, message)], [])
    try:
        parsed = MappingFile.model_validate(raw)
    except ValidationError as error:
        return _load_valid_entries(loaded, raw, error)
    loaded.mappings = [Located(shown, m) for m in parsed.mappings]
    loaded.options = [Located(shown, o) for o in parsed.option_mappings]
    return loaded


def _load_valid_entries(loaded: _LoadedFile, raw: dict[str, Any], error: ValidationError) -> _LoadedFile:
    """Keep the entries of a file that validate; set the others aside with their problems."""
    problems = problems_from_validation(loaded.shown, raw, error)
    loaded.problems += problems
    per_entry: dict[tuple[str, int], list[Problem]] = {}
    for detail, problem in zip(error.errors(), problems, strict=True):
        location = detail["loc"]
        if len(location) < 2 or location[0] not in _SECTIONS or not isinstance(location[1], int):
            # The file's shape is wrong (an unknown top-level key, a section that is not a list).
            loaded.broken = [broken_file(loaded.shown, _declared_names(raw), problems)]
            return loaded
        per_entry.setdefault((str(location[0]), location[1]), []).append(problem)
    for (section, index), entry_problems in per_entry.items():
        entry = raw[section][index]
        loaded.broken.append(broken_entry(loaded.shown, _SECTIONS[section], entry, entry_problems))
    kept = {
        section: [e for i, e in enumerate(raw[section]) if (section, i) not in per_entry]
        for section in _SECTIONS
        if isinstance(raw.get(section), list)
    }
    try:
        parsed = MappingFile.model_validate({**raw, **kept})
    except ValidationError:  # a rule across the file's entries: nothing in it is usable
        loaded.broken = [broken_file(loaded.shown, _declared_names(raw), problems)]
        return loaded
    loaded.mappings = [Located(loaded.shown, m) for m in parsed.mappings]
    loaded.options = [Located(loaded.shown, o) for o in parsed.option_mappings]
    return loaded


def _parse_yaml(text: str, shown: str) -> tuple[Any, Problem | None]:
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return None, Problem(shown, f"invalid YAML: {where}{error.problem or error}")
    except yaml.YAMLError as error:
        return None, Problem(shown, f"cannot read the file: {error}")
    if raw is None:
        return None, Problem(shown, "the file is empty")
    return raw, None


def _declared_names(raw: Any) -> list[str]:
    names = []
    for entry in _entries(raw):
        if isinstance(entry.get("name"), str):
            names.append(entry["name"])
            names += [a for a in entry.get("aliases") or [] if isinstance(a, str)]
    return names


def _entries(raw: Any) -> Iterator[dict[str, Any]]:
    for section in _SECTIONS:
        entries = raw.get(section) if isinstance(raw, dict) else None
        yield from (e for e in entries if isinstance(e, dict)) if isinstance(entries, list) else ()


# `name:` keys in a file whose YAML does not parse: only mappings and option mappings have one.
_NAME_LINE = re.compile(r"""^\s*(?:-\s+)?name:\s*(?P<q>['"]?)(?P<name>[^'"#\n]*?)(?P=q)\s*(?:#.*)?$""", re.M)


def _names_in_text(text: str) -> list[str]:
    """Best effort: the names a broken file declares, so references to them say where the problem is."""
    return [m["name"] for m in _NAME_LINE.finditer(text) if m["name"]]


def _kind_of_text(text: str) -> str:
    """Best effort: a file with only an `option_mappings:` section holds no job (and gets no DAG)."""
    sections = set(re.findall(r"^(mappings|option_mappings):", text, re.M))
    return OPTION_MAPPING if sections == {"option_mappings"} else MAPPING


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
