"""Mappings left out of the registry, and why: a file or entry that failed to load, and every mapping that
cannot run without one (its dependency, parent, child, lookup or option mapping is broken).

`load_registry()` keeps the usable mappings, so one mapping's mistake stays in that mapping.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from bcsync.registry.errors import Problem
from bcsync.registry.model import IntegrationTableMapping, OptionMapping, dag_id_for
from bcsync.registry.validation import Located

MAPPING = "mapping"
OPTION_MAPPING = "option mapping"


@dataclass(frozen=True)
class BrokenMapping:
    """A mapping, option mapping or whole file that is not in the registry.

    `dag_id` is the DAG the mapping would have (from `job_code` or `name`; from the file name when the
    YAML could not be read that far; None for a child mapping or an option mapping).
    """

    file: str
    name: str | None
    dag_id: str | None
    problems: tuple[Problem, ...]
    kind: str = MAPPING
    parent: str | None = None
    enabled: bool = True
    declares: tuple[str, ...] = ()  # names and aliases it declares, so references to them are explained

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.file

    @property
    def is_job(self) -> bool:
        """Whether it would have a DAG of its own."""
        return self.kind == MAPPING and self.dag_id is not None


def broken_entry(file: str, kind: str, raw: Any, problems: Sequence[Problem]) -> BrokenMapping:
    """A mapping entry whose YAML did not validate, named as far as its raw data allows."""
    entry = raw if isinstance(raw, dict) else {}
    name = _text(entry.get("name"))
    parent = _text(entry.get("parent"))
    job = _text(entry.get("job_code")) or name
    return BrokenMapping(
        file=file,
        name=name,
        dag_id=dag_id_for(job) if kind == MAPPING and job and not parent else None,
        problems=tuple(problems),
        kind=kind,
        parent=parent,
        enabled=entry.get("enabled") is not False,
        declares=tuple(n for n in (name, *_texts(entry.get("aliases"))) if n),
    )


def broken_file(
    file: str, declares: Sequence[str], problems: Sequence[Problem], kind: str = MAPPING
) -> BrokenMapping:
    """A file that could not be read as mappings at all: its DAG id comes from the file name (a file of
    option mappings only has none)."""
    return BrokenMapping(
        file=file,
        name=None,
        dag_id=dag_id_for(PurePath(file).stem) if kind == MAPPING else None,
        problems=tuple(problems),
        kind=kind,
        declares=tuple(declares),
    )


@dataclass(frozen=True)
class Partition:
    mappings: list[Located[IntegrationTableMapping]]
    options: list[Located[OptionMapping]]
    broken: list[BrokenMapping]


def set_aside(
    mappings: Sequence[Located[IntegrationTableMapping]],
    options: Sequence[Located[OptionMapping]],
    problems: Sequence[Problem],
    broken: Sequence[BrokenMapping],
) -> Partition:
    """Split parsed entries into usable and broken.

    A mapping named by a problem is broken (two mappings with one name are both broken: bcsync cannot
    tell which one is meant). So is, in turn, every mapping that refers to a broken or missing one.
    """
    by_name: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.mapping:
            by_name.setdefault(problem.mapping, []).append(problem)
    broken = list(broken)
    usable = []
    for located in mappings:
        own = by_name.get(located.item.name)
        if own:
            broken.append(_broken_mapping(located, own))
        else:
            usable.append(located)
    usable_options, broken_options = _unique_options(options)
    broken += broken_options

    while True:  # until no usable mapping refers to a broken one
        names = {m.item.name for m in usable}
        option_names = {o.item.name for o in usable_options}
        newly = []
        for located in usable:
            reasons = list(_unusable_references(located, names, option_names, broken))
            if reasons:
                newly.append(_broken_mapping(located, reasons))
        if not newly:
            return Partition(usable, usable_options, broken)
        gone = {b.name for b in newly}
        usable = [m for m in usable if m.item.name not in gone]
        broken += newly


def _broken_mapping(located: Located[IntegrationTableMapping], problems: Sequence[Problem]) -> BrokenMapping:
    mapping = located.item
    return BrokenMapping(
        file=located.file,
        name=mapping.name,
        dag_id=mapping.dag_id,
        problems=tuple(problems),
        parent=mapping.parent,
        enabled=mapping.enabled,
        declares=(mapping.name, *mapping.aliases),
    )


def _unique_options(
    options: Sequence[Located[OptionMapping]],
) -> tuple[list[Located[OptionMapping]], list[BrokenMapping]]:
    """Option mappings declared once; one declared twice is broken in both places (already reported)."""
    names = [o.item.name for o in options]
    twice = {name for name in names if names.count(name) > 1}
    broken = [
        BrokenMapping(
            file=o.file,
            name=o.item.name,
            dag_id=None,
            problems=(Problem(o.file, f"option mapping {o.item.name!r} is declared twice"),),
            kind=OPTION_MAPPING,
            declares=(o.item.name,),
        )
        for o in options
        if o.item.name in twice
    ]
    return [o for o in options if o.item.name not in twice], broken


def _unusable_references(
    located: Located[IntegrationTableMapping],
    names: set[str],
    option_names: set[str],
    broken: Sequence[BrokenMapping],
) -> Iterator[Problem]:
    mapping = located.item

    def problem(message: str, field_label: str | None = None) -> Problem:
        return Problem(located.file, message, mapping.name, field_label)

    for name in mapping.dependencies:
        if name not in names and name != mapping.parent:  # a child lists its parent: said once, below
            yield problem(_why("dependency", name, broken))
    if mapping.parent and mapping.parent not in names:
        yield problem(_why("parent", mapping.parent, broken))
    for child in broken:
        if child.parent == mapping.name and child.kind == MAPPING:
            # The job runs its children (invoice lines with their header): without them it is incomplete.
            yield problem(f"child mapping {child.name!r} is broken ({child.file}), so this job cannot run")
    for f in mapping.fields:
        if f.lookup and f.lookup.mapping not in names:
            yield problem("lookup: " + _why("mapping", f.lookup.mapping, broken), f.label)
        if f.option_mapping and f.option_mapping not in option_names:
            yield problem(_why("option_mapping", f.option_mapping, broken), f.label)


def _why(what: str, name: str, broken: Sequence[BrokenMapping]) -> str:
    where = next((b.file for b in broken if name in b.declares), None)
    if where is None:
        return f"{what} {name!r} is not usable, so this mapping cannot run either"
    return f"{what} {name!r} is broken ({where}), so this mapping cannot run either"


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _texts(values: Any) -> list[str]:
    return [t for v in values if (t := _text(v))] if isinstance(values, list) else []
