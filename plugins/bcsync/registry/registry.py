"""The validated set of mappings: lookup by name, alias or DAG id, and the dependency order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bcsync.registry.broken import MAPPING, BrokenMapping
from bcsync.registry.errors import Problem
from bcsync.registry.model import IntegrationTableMapping, OptionMapping


@dataclass(frozen=True)
class Registry:
    """Every usable integration table mapping, in dependency order, with the option mappings they use.

    Build it with `bcsync.registry.load_registry`, which validates first: the order here assumes the
    dependencies exist and are acyclic. `broken` lists what was left out and why; `problems` is every
    problem found (what `bin/bcsync mappings validate` reports).
    """

    mappings: tuple[IntegrationTableMapping, ...]
    option_mappings: Mapping[str, OptionMapping] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)  # (option) mapping name → its file
    problems: tuple[Problem, ...] = ()
    broken: tuple[BrokenMapping, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "mappings", _dependency_order(self.mappings))

    @property
    def jobs(self) -> tuple[IntegrationTableMapping, ...]:
        """The mappings that have a job (a DAG) of their own; child mappings run with their parent."""
        return tuple(m for m in self.mappings if not m.is_child)

    @property
    def enabled_jobs(self) -> tuple[IntegrationTableMapping, ...]:
        """The jobs bcsync builds a DAG for (not `enabled: false`), dependencies first."""
        return tuple(m for m in self.jobs if m.enabled and m.dag_id)

    def get(self, name: str) -> IntegrationTableMapping:
        """A mapping by name or alias (BC's own name, e.g. SALESPRC-PRODPRICE)."""
        for mapping in self.mappings:
            if mapping.name == name or name in mapping.aliases:
                return mapping
        if broken := self.broken_mapping(name):
            problems = "; ".join(str(p) for p in broken.problems)
            raise KeyError(f"mapping {name!r} is broken and not loaded: {problems}")
        raise KeyError(f"no mapping named {name!r}; known: {', '.join(m.name for m in self.mappings)}")

    def broken_mapping(self, name: str) -> BrokenMapping | None:
        """The broken mapping that declares `name` (its name or an alias, in any case), if any."""
        wanted = name.strip().casefold()
        return next(
            (b for b in self.broken if b.kind == MAPPING and wanted in (d.casefold() for d in b.declares)),
            None,
        )

    def broken_job_name(self, name: str) -> str | None:
        """The name the coupling store knows a broken mapping by (its jobs, errors and skipped records
        outlive the mistake), for `name` as an operator typed it; None when no broken mapping has it."""
        broken = self.broken_mapping(name)
        if broken is None:
            return None
        wanted = name.strip().casefold()
        return broken.name or next(d for d in broken.declares if d.casefold() == wanted)

    @property
    def broken_jobs(self) -> tuple[BrokenMapping, ...]:
        """Broken mappings that would have a DAG of their own."""
        return tuple(b for b in self.broken if b.is_job)

    def by_dag_id(self, dag_id: str) -> IntegrationTableMapping:
        for mapping in self.mappings:
            if mapping.dag_id == dag_id:
                return mapping
        raise KeyError(f"no mapping has DAG id {dag_id!r}")

    def children(self, name: str) -> tuple[IntegrationTableMapping, ...]:
        """Mappings synchronized inside `name`'s load (POSTEDSALESLINE-INV under the invoice header); a
        linked child mapping (`linked_to`) runs as a task group of its own in the parent's DAG instead."""
        return tuple(m for m in self.mappings if m.parent == name and m.linked_to is None)

    def option_mapping(self, name: str) -> OptionMapping:
        try:
            return self.option_mappings[name]
        except KeyError:
            raise KeyError(f"no option mapping named {name!r}") from None

    def dependency_waves(self) -> list[list[IntegrationTableMapping]]:
        """The order of a full synchronization (BC's "Full Synch. Review"): a job starts once every job
        it depends on has finished. Child mappings are left out, as BC leaves them out."""
        jobs = self.jobs
        done: set[str] = set()
        waves: list[list[IntegrationTableMapping]] = []
        remaining = list(jobs)
        while remaining:
            wave = [m for m in remaining if all(d in done for d in m.dependencies)]
            if not wave:  # only reachable for an unvalidated registry
                raise ValueError(f"dependency cycle among {', '.join(m.name for m in remaining)}")
            waves.append(wave)
            done.update(m.name for m in wave)
            remaining = [m for m in remaining if m.name not in done]
        return waves


def _dependency_order(mappings: Sequence[IntegrationTableMapping]) -> tuple[IntegrationTableMapping, ...]:
    """Dependencies first; otherwise the declared order is kept, so the result is stable."""
    known = {m.name for m in mappings}
    ordered: list[IntegrationTableMapping] = []
    placed: set[str] = set()
    remaining = list(mappings)
    while remaining:
        ready = next(
            (m for m in remaining if all(d in placed or d not in known for d in m.dependencies)), None
        )
        if ready is None:
            raise ValueError(f"dependency cycle among {', '.join(m.name for m in remaining)}")
        ordered.append(ready)
        placed.add(ready.name)
        remaining.remove(ready)
    return tuple(ordered)
