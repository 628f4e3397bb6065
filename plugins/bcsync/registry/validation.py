"""Checks across fields, mappings and files: directions, duplicates, references, dependency cycles and
cycles of jobs scheduled after each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bcsync.registry.errors import Problem
from bcsync.registry.model import (
    FieldStatus,
    IntegrationFieldMapping,
    IntegrationTableMapping,
    OptionMapping,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Located(Generic[T]):
    """A parsed entry and the file it came from."""

    file: str
    item: T


def validate(
    mappings: Sequence[Located[IntegrationTableMapping]],
    options: Sequence[Located[OptionMapping]],
    unparsed: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Every problem across the parsed entries; `unparsed` names entries of files that failed to parse,
    which references may use without a second, misleading "unknown mapping" problem."""
    problems: list[Problem] = []
    problems += _unique_names(mappings, options)
    canonical = {m.item.name: m.item for m in mappings}
    alias_of = {alias: m.item.name for m in mappings for alias in m.item.aliases}
    option_names = {o.item.name for o in options} | unparsed
    for located in mappings:
        mapping = located.item
        issues = [
            *_mapping_rules(mapping),
            *_references(mapping, canonical, alias_of, option_names, unparsed),
        ]
        problems += [
            Problem(located.file, message, mapping.name, field.label if field else None)
            for field, message in issues
        ]
    problems += _cycles(mappings, _dependencies, "dependency cycle: ", " → ")
    problems += _cycles(
        mappings,
        _after,
        "schedule.after: a cycle would make the jobs start each other forever: ",
        " runs after ",
    )
    return problems


def _unique_names(
    mappings: Sequence[Located[IntegrationTableMapping]], options: Sequence[Located[OptionMapping]]
) -> list[Problem]:
    problems = []
    seen: dict[str, str] = {}  # name, alias or dag id → where it was first declared
    for located in mappings:
        m = located.item
        keys = [(m.name, "name"), *((a, "alias") for a in m.aliases)]
        if m.dag_id:
            keys.append((m.dag_id, "dag id"))
        for key, kind in keys:
            if key in seen:
                message = f"{kind} {key!r} is already used by {seen[key]}"
                problems.append(Problem(located.file, message, m.name))
            else:
                seen[key] = f"mapping {m.name} ({located.file})"
    option_seen: set[str] = set()
    for located in options:
        if located.item.name in option_seen:
            message = f"option mapping {located.item.name!r} is declared twice"
            problems.append(Problem(located.file, message))
        option_seen.add(located.item.name)
    return problems


def _mapping_rules(mapping: IntegrationTableMapping) -> Iterator[tuple[IntegrationFieldMapping | None, str]]:
    if not mapping.fields:
        yield None, "a mapping needs at least one field mapping"
    apis = {e.api for e in mapping.bc_endpoints}
    if mapping.bc_extension_endpoint and mapping.bc_extension_endpoint.api is mapping.bc_endpoint.api:
        yield None, "bc_extension_endpoint must be on the other API than bc_endpoint"
    for f in mapping.fields:
        if not mapping.direction.allows(f.direction):
            yield (
                f,
                (f"direction {f.direction.value} does not fit the table direction {mapping.direction.value}"),
            )
        if f.bc_field and f.bc_api not in apis:
            yield f, f"bc_api {f.bc_api} has no endpoint in this mapping (add bc_extension_endpoint)"
    yield from _duplicates(mapping)
    yield from _shape(mapping)
    for name, text in (
        ("table_filter", mapping.table_filter),
        ("integration_table_filter", mapping.integration_table_filter),
    ):
        if text is not None and (message := _filter_problem(text)):
            yield None, f"{name}: {message}"


def _duplicates(mapping: IntegrationTableMapping) -> Iterator[tuple[IntegrationFieldMapping, str]]:
    pairs: set[tuple[str | None, str | None]] = set()
    written: dict[tuple[str, str], IntegrationFieldMapping] = {}
    for f in mapping.fields:
        if f.status is FieldStatus.DISABLED:
            continue
        pair = (f.bc_field, f.crm_field)
        if pair in pairs and not f.is_constant:
            yield f, "duplicate field mapping: this bc_field ↔ crm_field pair is mapped twice"
            continue
        pairs.add(pair)
        # The same destination written twice in one direction would make the result depend on order.
        targets = []
        if f.direction.to_crm and f.crm_field:
            targets.append(("crm_field", f.crm_field))
        if f.direction.to_bc and f.bc_field:
            targets.append(("bc_field", f.bc_field))
        for target in targets:
            first = written.get(target)
            if first is not None:
                yield f, f"duplicate field mapping: {target[0]} {target[1]} is also written by {first.label}"
            else:
                written[target] = f


def _shape(mapping: IntegrationTableMapping) -> Iterator[tuple[None, str]]:
    if mapping.is_child:
        if mapping.schedule is not None:
            yield None, "a child mapping runs with its parent and has no schedule"
        if mapping.job_code is not None:
            yield None, "a child mapping runs with its parent and has no job_code"
        if mapping.parent_link is None and mapping.linked_to is None:
            yield None, "parent_link: required for a child mapping (the parent's id field on each side)"
        if mapping.parent_link is not None and mapping.linked_to is not None:
            yield None, "parent_link and linked_to: a child mapping runs in its parent's load or beside it"
    elif mapping.parent_link is not None:
        yield None, "parent_link: only a child mapping (one with a parent) points at a parent"
    if not mapping.is_child:
        if mapping.schedule is None:
            yield None, "schedule: required key is missing (BC's default is every: 30m)"
        if mapping.bc_modified_field is None:
            yield None, "bc_modified_field is required (only a child mapping may go without it)"
    if mapping.table_config_template and not mapping.direction.to_bc:
        yield None, "table_config_template applies to BC records created from Sales: the direction has none"
    if mapping.table_config_template and mapping.bc_extension_endpoint is None:
        yield None, "table_config_template needs bc_extension_endpoint (its values are written there)"
    if mapping.coupling.synch_after_bulk_coupling and not mapping.match_groups():
        yield None, "match-based coupling settings need at least one field with 'match'"
    if mapping.name in mapping.dependencies:
        yield None, "a mapping cannot depend on itself"
    if mapping.name in _after(mapping):
        yield None, "schedule.after: a job cannot run after itself"


def _filter_problem(text: str) -> str | None:
    """Catch the typos that would otherwise surface as a 400 from the service at run time."""
    if not text.strip():
        return "an empty filter; leave the key out instead"
    depth, quoted = 0, False
    for char in text:
        if char == "'":
            quoted = not quoted  # '' inside a literal toggles twice, which keeps the count right
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                return "a ')' without its '('"
    if quoted:
        return "an unterminated string literal"
    return "a '(' without its ')'" if depth else None


def _references(
    mapping: IntegrationTableMapping,
    canonical: dict[str, IntegrationTableMapping],
    alias_of: dict[str, str],
    option_names: set[str],
    unparsed: frozenset[str],
) -> Iterator[tuple[IntegrationFieldMapping | None, str]]:
    def unknown(kind: str, name: str) -> str | None:
        if name in unparsed:
            return None
        if name in alias_of:
            return f"{kind} {name!r} is an alias; use the mapping name {alias_of[name]!r}"
        return f"{kind} {name!r} is not a mapping in the registry"

    for name in mapping.dependencies:
        target = canonical.get(name)
        if target is None:
            if message := unknown("dependency", name):
                yield None, message
        elif target.is_child:
            yield None, f"dependency {name!r} is a child mapping; depend on its parent {target.parent!r}"
    if mapping.parent:
        parent = canonical.get(mapping.parent)
        if parent is None:
            if message := unknown("parent", mapping.parent):
                yield None, message
        elif parent.is_child:
            yield None, f"parent {mapping.parent!r} is itself a child mapping"
        else:
            if mapping.parent not in mapping.dependencies:
                yield None, f"a child mapping must list its parent {mapping.parent!r} in dependencies"
            if parent.direction is not mapping.direction:
                yield None, f"direction must equal the parent's ({parent.direction.value})"
    if mapping.linked_to:
        linked = mapping.linked_to.mapping
        if canonical.get(linked) is None:
            if message := unknown("linked_to", linked):
                yield None, message
        elif linked not in mapping.dependencies:
            yield None, f"a linked mapping must list {linked!r} in dependencies"
    for name in _after(mapping):
        target = canonical.get(name)
        if target is None:
            if message := unknown("job", name):
                yield None, "schedule.after: " + message
        elif target.is_child:
            yield (
                None,
                f"schedule.after: {name!r} is a child mapping and runs in its parent's job; "
                f"name the parent {target.parent!r}",
            )
    for f in mapping.fields:
        lookup_target = canonical.get(f.lookup.mapping) if f.lookup else None
        if f.lookup and lookup_target is None and (message := unknown("mapping", f.lookup.mapping)):
            yield f, "lookup: " + message
        if f.option_mapping and f.option_mapping not in option_names:
            yield f, f"option_mapping {f.option_mapping!r} is not an option mapping in the registry"
        if f.lookup and f.lookup.blank_means_lcy and lookup_target and not _is_currency(lookup_target):
            yield f, "blank_means_lcy applies only to a lookup through the currency mapping"


def _is_currency(mapping: IntegrationTableMapping) -> bool:
    return mapping.crm_entity == "transactioncurrency"


def _dependencies(mapping: IntegrationTableMapping) -> tuple[str, ...]:
    return mapping.dependencies


def _after(mapping: IntegrationTableMapping) -> tuple[str, ...]:
    """The jobs whose finished runs start this one (`schedule.after`)."""
    return mapping.schedule.after if mapping.schedule else ()


def _cycles(
    mappings: Sequence[Located[IntegrationTableMapping]],
    edges: Callable[[IntegrationTableMapping], Sequence[str]],
    prefix: str,
    arrow: str,
) -> list[Problem]:
    """Report each cycle through `edges` once, at the mapping where the walk closed it."""
    graph = {m.item.name: [d for d in edges(m.item) if d != m.item.name] for m in mappings}
    file_of = {m.item.name: m.file for m in mappings}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    problems: list[Problem] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in graph.get(name, []):
            if target not in graph:
                continue  # reported as an unknown reference
            if state.get(target) == 1:
                cycle = [name, *path[path.index(target) :]]  # from the mapping that closes it
                problems.append(Problem(file_of[name], prefix + arrow.join(cycle), name))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    return problems
