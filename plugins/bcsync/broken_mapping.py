"""Stand-ins for the DAGs of broken mappings: each fails Airflow's DAG validation, so the DAG file reports an
import error naming the DAG, the file, the mapping and the field, while the file's other DAGs are bagged.

Airflow's DagBag validates each DAG before bagging it and records a failure as the file's import error
(`DagBag.process_file`). Import errors are kept per file, one message each, so every stand-in raises the
same message listing all broken DAGs, whichever of them Airflow validates last.
"""

from __future__ import annotations

from airflow.sdk import DAG

from bcsync.registry import BrokenMapping, Registry, load_registry


class BrokenMappingError(ValueError):
    """The mappings of these DAGs are broken; the message names each DAG, file, mapping and field."""


class BrokenMappingDag(DAG):
    """A DAG that exists only to fail `validate()` with `reason`."""

    reason = ""

    def validate(self) -> None:
        raise BrokenMappingError(self.reason)


def broken_mapping_dags(registry: Registry | None = None) -> dict[str, DAG]:
    """A stand-in for the DAG of each broken, enabled job mapping (or unreadable file), by DAG id; the
    registry is loaded when not given, so a DAG file of its own can hold them."""
    if registry is None:
        registry = load_registry()
    broken = sorted(
        (b for b in registry.broken_jobs if b.enabled and b.dag_id), key=lambda b: (b.dag_id, b.file)
    )
    reason = broken_mappings_message(broken)
    dags: dict[str, DAG] = {}
    for mapping in broken:
        assert mapping.dag_id is not None
        dag = BrokenMappingDag(
            dag_id=mapping.dag_id,
            description=f"{mapping.label} is broken: see the import errors",
            schedule=None,  # never scheduled: Airflow does not bag it
            tags=["bcsync", "broken mapping"],
        )
        dag.reason = reason
        dags.setdefault(mapping.dag_id, dag)
    return dags


def broken_mappings_message(broken: list[BrokenMapping]) -> str:
    """A headline naming the DAGs, then one line per problem: `<dag id>: <file>: mapping …: field …: …`."""
    dag_ids = sorted({b.dag_id for b in broken if b.dag_id})
    count = len(dag_ids)
    why = "their mappings are" if count != 1 else "its mapping is"
    lines = [
        f"{count} bcsync DAG{'s' if count != 1 else ''} not loaded because {why} broken "
        f"({', '.join(dag_ids)}); `bin/bcsync mappings validate` checks the fix:"
    ]
    lines += [f"{b.dag_id}: {problem}" for b in broken for problem in b.problems]
    return "\n".join(lines)
