"""What every bcsync page reads first: the mappings, the job a request names, the coupling store (a
503 page when either is not there), and the DAG id of each record's job for the links."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bcsync.operations import OperatorError, open_store, resolve_job
from bcsync.registry import Registry, RegistryError, load_registry
from bcsync.store import CouplingStore, StoreConfigurationError
from bcsync.web.render import PageError

log = logging.getLogger(__name__)


def page_registry() -> Registry:
    try:
        return load_registry()
    except RegistryError as error:
        raise PageError(503, f"The integration table mappings are not valid:\n{error}") from None


def job_name(registry: Registry, job: str | None) -> str | None:
    """The store's name for `job`; a broken mapping's name is accepted too: its history is in the store."""
    if job is None:
        return None
    try:
        return resolve_job(registry, job).name
    except OperatorError as error:
        if broken := registry.broken_job_name(job):
            return broken
        raise PageError(400, str(error)) from None


def broken_warning(registry: Registry) -> str:
    """One line on every page while mappings are broken: their jobs do not run until they are fixed."""
    if not registry.broken:
        return ""
    broken = ", ".join(f"{b.label} ({b.file})" for b in registry.broken)
    return (
        f"Not loaded, so not synchronizing: {broken}. Their DAGs show as import errors; "
        "'bin/bcsync mappings validate' lists the problems."
    )


@contextmanager
def page_store() -> Iterator[CouplingStore]:
    """The store behind the Airflow Connection `bcsync_store` (or its embedded default), as the CLI
    opens it without --store; a store that is not there or cannot be read is a 503."""
    try:
        store = open_store(None)
    except (OperatorError, StoreConfigurationError) as error:
        raise PageError(503, f"The coupling store is not available: {error}") from None
    try:
        yield store
    except SQLAlchemyError as error:
        log.exception("bcsync: reading the coupling store failed")
        raise PageError(503, f"The coupling store could not be read: {type(error).__name__}") from None
    finally:
        store.dispose()


def add_dag_ids(registry: Registry, records: list[dict[str, Any]]) -> None:
    """Give each record its job's DAG id (a child mapping runs in its parent's DAG), for the links."""
    by_name = {m.name: m for m in registry.mappings}
    dag_ids = {b.name: b.dag_id for b in registry.broken_jobs if b.name}
    dag_ids |= {
        m.name: m.dag_id or (by_name[m.parent].dag_id if m.parent in by_name else None)
        for m in registry.mappings
    }
    for record in records:
        record["dag_id"] = dag_ids.get(record["job"])


def job_names(registry: Registry) -> list[str]:
    """The jobs to pick from: broken ones too, whose past runs stay readable."""
    return [m.name for m in registry.jobs] + [b.name for b in registry.broken_jobs if b.name]
