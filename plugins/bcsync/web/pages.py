"""The three pages: read the coupling store through `bcsync.operations` (what `bin/bcsync jobs|errors|
skipped|restore` use), answer HTML or JSON.

Imported by the routes on first use: it loads pandas and SQLAlchemy through the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bcsync.operations import (
    ERROR_COLUMNS,
    JOB_COLUMNS,
    SKIPPED_COLUMNS,
    Column,
    OperatorError,
    job_log,
    normalize_guid,
    open_store,
    parse_direction,
    record_errors,
    resolve_job,
    restore_message,
    skipped_records,
)
from bcsync.operations import restore as restore_records
from bcsync.registry import Registry, RegistryError, load_registry
from bcsync.store import CouplingStore, StoreConfigurationError
from bcsync.web import render
from bcsync.web.render import PageError

log = logging.getLogger(__name__)

# The CLI's columns, with the record's name next to its number and the last error's time.
ERROR_PAGE_COLUMNS = (*ERROR_COLUMNS[:4], Column("Name", "name"), *ERROR_COLUMNS[4:])
SKIPPED_PAGE_COLUMNS = (*SKIPPED_COLUMNS, Column("Last error on (UTC)", "last_error_on"))


# ---- the pages ----


def jobs(request: Request, job: str | None, limit: int) -> Response:
    registry = _registry()
    mapping = _job_name(registry, job)
    with _store() as store:
        records = job_log(store, mapping, limit)
    _add_dag_ids(registry, records)
    if render.wants_json(request):
        return render.json_response({"job": mapping, "limit": limit, "jobs": records})

    body = render.filters(_job_names(registry), mapping, limit=limit)
    if records:
        body += render.table(
            JOB_COLUMNS,
            records,
            links={"job": _dag_link, "run_id": _run_link},
        )
    else:
        body += render.empty(f"No synchronization jobs recorded{f' for {mapping}' if mapping else ''}.")
    return HTMLResponse(
        render.layout(
            request, "Integration Synch. Job List", body, current="jobs", warning=_broken_warning(registry)
        )
    )


def errors(request: Request, job: str | None, direction: str | None) -> Response:
    registry = _registry()
    mapping = _job_name(registry, job)
    try:
        wanted = None if direction is None else parse_direction(direction)
    except ValueError as error:
        raise PageError(400, str(error)) from None
    with _store() as store:
        records = record_errors(store, mapping, wanted)
    _add_dag_ids(registry, records)
    if render.wants_json(request):
        return render.json_response({"job": mapping, "direction": wanted and wanted.value, "errors": records})

    body = render.filters(
        _job_names(registry), mapping, direction=wanted and wanted.value, with_direction=True
    )
    if records:
        body += render.table(
            ERROR_PAGE_COLUMNS,
            records,
            links={"job": _dag_link, "run_id": _run_link, "task_id": _task_link, "try_number": _task_link},
        )
    else:
        scope = " ".join(filter(None, [mapping, wanted and wanted.value]))
        body += render.empty(f"No open synchronization errors{f' for {scope}' if scope else ''}.")
    return HTMLResponse(
        render.layout(
            request, "Integration Synch. Errors", body, current="errors", warning=_broken_warning(registry)
        )
    )


def skipped(request: Request, job: str | None, restored: int | None, unmatched: int | None) -> Response:
    registry = _registry()
    mapping = _job_name(registry, job)
    if mapping is None:
        if render.wants_json(request):
            raise PageError(400, "Choose a job: ?job=CUSTOMER (see 'bcsync mappings')")
        body = render.filters(_job_names(registry), None, any_job=False)
        body += render.empty("Skipped records are kept per job: choose one.")
        return HTMLResponse(
            render.layout(
                request, "CRM Skipped Records", body, current="skipped", warning=_broken_warning(registry)
            )
        )
    with _store() as store:
        records = skipped_records(store, mapping)
    if render.wants_json(request):
        return render.json_response({"job": mapping, "skipped": records})

    notice = "" if restored is None else _restored_notice(restored)
    unmatched_warning = (
        f"{unmatched} of the chosen records were not skipped (any more) and were left as they are."
        if unmatched
        else ""
    )
    warning = " ".join(filter(None, [unmatched_warning, _broken_warning(registry)]))
    body = render.filters(_job_names(registry), mapping, any_job=False)
    if records:
        body += (
            '<div class="actions"><form method="post" action="skipped/restore">'
            f"{render.hidden('job', mapping)}{render.hidden('all', '1')}"
            f'<button type="submit">Restore all</button></form>'
            f'<span class="muted">{len(records)} skipped record(s). A restored record is synchronized '
            "again by the job's next run.</span></div>"
        )
        body += render.table(
            SKIPPED_PAGE_COLUMNS, records, extra=("", lambda record: _restore_button(mapping, record))
        )
    else:
        body += render.empty(f"No skipped records for {mapping}.")
    return HTMLResponse(
        render.layout(request, "CRM Skipped Records", body, current="skipped", notice=notice, warning=warning)
    )


def restore(
    request: Request,
    job: str,
    *,
    bc_ids: Sequence[str],
    crm_ids: Sequence[str],
    everything: bool,
    user: Any,
) -> Response:
    registry = _registry()
    mapping = _job_name(registry, job)
    assert mapping is not None
    bc_ids, crm_ids = _guids(bc_ids, "bc_id"), _guids(crm_ids, "crm_id")
    if not (everything or bc_ids or crm_ids):
        raise PageError(400, "Nothing to restore: give bc_id (or crm_id) values, or all=1.")
    with _store() as store:
        outcome = restore_records(store, mapping, bc_ids=bc_ids, crm_ids=crm_ids, everything=everything)
    log.info(
        "bcsync restore: %s restored %d skipped record(s) of %s%s",
        _user_name(user),
        outcome.restored,
        mapping,
        " (all)" if everything else "",
    )
    if render.wants_json(request):
        return render.json_response(
            {
                "job": mapping,
                "restored": outcome.restored,
                "message": _restored_notice(outcome.restored),
                "not_coupled": list(outcome.not_coupled),
                "not_skipped": list(outcome.not_skipped),
            }
        )
    # Post/Redirect/Get: reloading the page that follows does not restore again.
    location = render.page_href(
        f"{render.app_root(request)}/skipped",
        job=mapping,
        restored=outcome.restored,
        unmatched=len(outcome.unmatched) or None,
    )
    return RedirectResponse(location, status_code=303)


# ---- reading ----


def _registry() -> Registry:
    try:
        return load_registry()
    except RegistryError as error:
        raise PageError(503, f"The integration table mappings are not valid:\n{error}") from None


def _job_name(registry: Registry, job: str | None) -> str | None:
    """The store's name for `job`; a broken mapping's name is accepted too: its history is in the store."""
    if job is None:
        return None
    try:
        return resolve_job(registry, job).name
    except OperatorError as error:
        if broken := registry.broken_job_name(job):
            return broken
        raise PageError(400, str(error)) from None


def _broken_warning(registry: Registry) -> str:
    """One line on every page while mappings are broken: their jobs do not run until they are fixed."""
    if not registry.broken:
        return ""
    broken = ", ".join(f"{b.label} ({b.file})" for b in registry.broken)
    return (
        f"Not loaded, so not synchronizing: {broken}. Their DAGs show as import errors; "
        "'bin/bcsync mappings validate' lists the problems."
    )


@contextmanager
def _store() -> Iterator[CouplingStore]:
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


def _add_dag_ids(registry: Registry, records: list[dict[str, Any]]) -> None:
    """Give each record its job's DAG id (a child mapping runs in its parent's DAG), for the links."""
    by_name = {m.name: m for m in registry.mappings}
    dag_ids = {b.name: b.dag_id for b in registry.broken_jobs if b.name}
    dag_ids |= {
        m.name: m.dag_id or (by_name[m.parent].dag_id if m.parent in by_name else None)
        for m in registry.mappings
    }
    for record in records:
        record["dag_id"] = dag_ids.get(record["job"])


def _job_names(registry: Registry) -> list[str]:
    """The jobs to pick from: broken ones too, whose past runs stay readable."""
    return [m.name for m in registry.jobs] + [b.name for b in registry.broken_jobs if b.name]


# ---- cells ----


def _dag_link(record: Mapping[str, Any]) -> str | None:
    return render.dag_href(record["dag_id"]) if record.get("dag_id") else None


def _run_link(record: Mapping[str, Any]) -> str | None:
    if not (record.get("dag_id") and record.get("run_id")):
        return None
    return render.run_href(record["dag_id"], record["run_id"])


def _task_link(record: Mapping[str, Any]) -> str | None:
    if not (record.get("dag_id") and record.get("run_id") and record.get("task_id")):
        return None
    return render.task_href(record["dag_id"], record["run_id"], record["task_id"], record.get("try_number"))


def _restore_button(mapping: str, record: Mapping[str, Any]) -> str:
    return (
        '<form method="post" action="skipped/restore">'
        f"{render.hidden('job', mapping)}{render.hidden('bc_id', record['bc_id'])}"
        '<button type="submit">Restore</button></form>'
    )


def _restored_notice(count: int) -> str:
    return restore_message(count) if count else "No records have been restored for synchronization."


def _guids(ids: Sequence[str], field: str) -> list[str]:
    """Record ids as the store keeps them (lower case, no braces), each once, as the CLI reads them:
    `restore` reports the given ids that matched nothing by comparing them with the stored ones."""
    try:
        return list(dict.fromkeys(normalize_guid(text) for text in ids))
    except ValueError as error:
        raise PageError(400, f"{field}: {error}") from None


def _user_name(user: Any) -> str:
    try:
        return str(user.get_name())
    except Exception:
        return "a user"
