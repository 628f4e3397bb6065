"""The three pages: read the coupling store through `bcsync.operations` (what `bin/bcsync jobs|errors|
skipped|restore` use), answer HTML or JSON.

Imported by the routes on first use: it loads pandas and SQLAlchemy through the store.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bcsync.operations import (
    ERROR_STATUSES,
    JOB_COLUMNS,
    SKIPPED_COLUMNS,
    Column,
    delete_old_entries,
    filtered_errors,
    job_log,
    normalize_guid,
    parse_direction,
    restore_message,
    skipped_records,
)
from bcsync.operations import restore as restore_records
from bcsync.store import Direction
from bcsync.web import chart, render
from bcsync.web.action_forms import action_button, back_path, started_notice
from bcsync.web.reading import add_dag_ids, broken_warning, job_name, job_names, page_registry, page_store
from bcsync.web.render import PageError

log = logging.getLogger(__name__)

# The CLI's columns, with the record's name next to its number and the last error's time.
SKIPPED_PAGE_COLUMNS = (*SKIPPED_COLUMNS, Column("Last error on (UTC)", "last_error_on"))
# The message first after the time: at 1440 px it is read without scrolling; ids last.
ERROR_PAGE_COLUMNS = (
    Column("Time (UTC)", "logged_on"),
    Column("Job", "job"),
    Column("Direction", "direction"),
    Column("BC No.", "bc_number"),
    Column("Name", "name"),
    Column("Message", "message"),
    Column("Status", "status"),
    Column("Run ID", "run_id"),
    Column("Task", "task_id"),
    Column("Try", "try_number", numeric=True),
    Column("BC ID", "bc_id"),
    Column("Dataverse ID", "crm_id"),
)
JOB_PAGE_COLUMNS = JOB_COLUMNS
PROGRESS = re.compile(r"written (?P<written>\d+) of (?P<total>\d+)")


# ---- the pages ----


def jobs(request: Request, job: str | None, limit: int) -> Response:
    registry = page_registry()
    mapping = job_name(registry, job)
    with page_store() as store:
        records = job_log(store, mapping, limit)
    add_dag_ids(registry, records)
    if render.wants_json(request):
        return render.json_response({"job": mapping, "limit": limit, "jobs": records})

    body = render.filters(job_names(registry), mapping, limit=limit)
    if records:
        body += chart.trend_svg(records)
        body += render.table(
            JOB_PAGE_COLUMNS,
            records,
            links={"job": _dag_link, "run_id": _run_link},
            # Only while a job runs: a column of blanks would push the message off a 1440 px screen.
            extra=("Progress", _progress) if any(r["finished_on"] is None for r in records) else None,
        )
    else:
        body += render.empty(f"No synchronization jobs recorded{f' for {mapping}' if mapping else ''}.")
    return HTMLResponse(
        render.layout(
            request, "Integration Synch. Job List", body, current="jobs", warning=broken_warning(registry)
        )
    )


def errors(
    request: Request,
    job: str | None,
    direction: str | None,
    *,
    status: str = "open",
    days: float | None = None,
    deleted: str | None = None,
) -> Response:
    """BC's Integration Synch. Errors: open (or closed, or all) errors, filtered by job, direction and
    age, with BC's "Delete Entries Older Than" for the job log."""
    registry = page_registry()
    mapping = job_name(registry, job)
    wanted = _direction(direction)
    if status not in ERROR_STATUSES:
        raise PageError(400, f"status must be one of {', '.join(ERROR_STATUSES)}, not {status!r}")
    since = None if days is None else datetime.now(UTC) - timedelta(days=days)
    with page_store() as store:
        records = filtered_errors(store, mapping, wanted, status=status, since=since)
    add_dag_ids(registry, records)
    if render.wants_json(request):
        return render.json_response(
            {
                "job": mapping,
                "direction": wanted and wanted.value,
                "status": status,
                "days": days,
                "errors": records,
            }
        )

    statuses = render.select("status", [(s, s.title()) for s in ERROR_STATUSES], status)
    age = (
        '<input type="number" name="days" min="0" step="any" placeholder="any" '
        f'value="{render.esc(days if days is not None else "")}">'
    )
    body = render.filters(
        job_names(registry),
        mapping,
        direction=wanted and wanted.value,
        with_direction=True,
        extra=f"<label>Status{statuses}</label><label>Logged in the last … days{age}</label>",
    )
    body += _delete_entries_form(mapping)
    if records:
        body += render.table(
            ERROR_PAGE_COLUMNS,
            records,
            links={"job": _dag_link, "run_id": _run_link, "task_id": _task_link, "try_number": _task_link},
        )
    else:
        scope = " ".join(filter(None, ["" if status == "all" else status, "synchronization errors"]))
        where = " ".join(filter(None, [mapping, wanted and wanted.value]))
        body += render.empty(f"No {scope}{f' for {where}' if where else ''}.")
    return HTMLResponse(
        render.layout(
            request,
            "Integration Synch. Errors",
            body,
            current="errors",
            notice=deleted or "",
            warning=broken_warning(registry),
        )
    )


def delete_entries(request: Request, job: str | None, days: float, user: Any) -> Response:
    """BC's "Delete Entries Older Than N Days" on the job log: old jobs and errors go, except what the
    skipped records still show (the store keeps the entries skipped couplings reference)."""
    registry = page_registry()
    mapping = job_name(registry, job)
    with page_store() as store:
        message = delete_old_entries(store, days, mapping)
    log.info("bcsync: %s: %s", render.user_name(user), message)
    if render.wants_json(request):
        return render.json_response({"job": mapping, "days": days, "message": message})
    location = render.page_href(f"{render.app_root(request)}/errors", job=mapping, deleted=message)
    return RedirectResponse(location, status_code=303)


def _delete_entries_form(mapping: str | None) -> str:
    scope = f" of {mapping}" if mapping else " of every job"
    return (
        '<form class="actions" method="post" action="errors/delete">'
        f"{render.hidden('job', mapping or '')}"
        '<label class="inline">Delete entries older than <input type="number" name="days" min="0" '
        'step="any" value="7" required style="width:6rem"> days</label>'
        f'<button type="submit" class="danger">Delete entries</button>'
        f'<span class="muted">Job log entries and errors{render.esc(scope)}; entries that skipped records '
        "refer to are kept.</span></form>"
    )


def days_value(text: str | None) -> float | None:
    """The errors page's age filter: blank is any age, else a number of days (0 or more)."""
    if text is None or not text.strip():
        return None
    try:
        days = float(text)
    except ValueError:
        raise PageError(400, f"days must be a number of days, not {text!r}") from None
    if days < 0 or days != days:
        raise PageError(400, f"days must not be negative, got {text!r}")
    return days


def _direction(direction: str | None) -> Direction | None:
    try:
        return None if direction is None else parse_direction(direction)
    except ValueError as error:
        raise PageError(400, str(error)) from None


def skipped(request: Request, job: str | None, restored: int | None, unmatched: int | None) -> Response:
    registry = page_registry()
    mapping = job_name(registry, job)
    if mapping is None:
        if render.wants_json(request):
            raise PageError(400, "Choose a job: ?job=CUSTOMER (see 'bcsync mappings')")
        body = render.filters(job_names(registry), None, any_job=False)
        body += render.empty("Skipped records are kept per job: choose one.")
        return HTMLResponse(
            render.layout(
                request, "CRM Skipped Records", body, current="skipped", warning=broken_warning(registry)
            )
        )
    with page_store() as store:
        records = skipped_records(store, mapping)
    if render.wants_json(request):
        return render.json_response({"job": mapping, "skipped": records})

    notice = "" if restored is None else _restored_notice(restored)
    unmatched_warning = (
        f"{unmatched} of the chosen records were not skipped (any more) and were left as they are."
        if unmatched
        else ""
    )
    warning = " ".join(filter(None, [unmatched_warning, broken_warning(registry)]))
    body = started_notice(request) + render.filters(job_names(registry), mapping, any_job=False)
    if records:
        body += (
            '<div class="actions"><form method="post" action="skipped/restore">'
            f"{render.hidden('job', mapping)}{render.hidden('all', '1')}"
            f'<button type="submit">Restore all</button></form>'
            f'<span class="muted">{len(records)} skipped record(s). A restored record is synchronized '
            "again by the job's next run.</span></div>"
        )
        back = back_path(request, "skipped")
        body += render.table(
            SKIPPED_PAGE_COLUMNS,
            records,
            extra=("Actions", lambda record: _skipped_actions(mapping, record, back)),
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
    registry = page_registry()
    mapping = job_name(registry, job)
    assert mapping is not None
    bc_ids, crm_ids = _guids(bc_ids, "bc_id"), _guids(crm_ids, "crm_id")
    if not (everything or bc_ids or crm_ids):
        raise PageError(400, "Nothing to restore: give bc_id (or crm_id) values, or all=1.")
    with page_store() as store:
        outcome = restore_records(store, mapping, bc_ids=bc_ids, crm_ids=crm_ids, everything=everything)
    log.info(
        "bcsync restore: %s restored %d skipped record(s) of %s%s",
        render.user_name(user),
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


def _progress(record: Mapping[str, Any]) -> str:
    """A job still running: how far its load got ("written N of M", kept in the job row's message while
    it writes), as a bar; the counters come when it finishes."""
    if record.get("finished_on") is not None:
        return ""
    found = PROGRESS.search(str(record.get("message") or ""))
    if not found:
        return '<span class="badge running">running</span>'
    written, total = int(found["written"]), int(found["total"])
    return (
        f'<progress value="{written}" max="{max(total, 1)}"></progress> '
        f'<span class="muted">{written:,} of {total:,}</span>'
    )


def _skipped_actions(mapping: str, record: Mapping[str, Any], back: str) -> str:
    """BC's actions on a skipped record, each a run: Restore (a counterpart deleted meanwhile is created
    again), Synchronize now (forced: clears the skip), Delete coupling, Delete coupled record (the
    Sales record)."""
    bc_id = record["bc_id"]
    return (
        '<div class="row-actions">'
        + action_button("restore", "Restore", mapping, bc_id, back)
        + action_button("synchronize_now", "Synchronize now", mapping, bc_id, back, css="small primary")
        + action_button("delete_coupling", "Delete coupling", mapping, bc_id, back)
        + action_button(
            "delete_coupled_record",
            "Delete coupled record",
            mapping,
            bc_id,
            back,
            options={"side": "crm"},
            css="small danger",
            confirm="Delete the Sales record this record is coupled to?",
        )
        + "</div>"
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
