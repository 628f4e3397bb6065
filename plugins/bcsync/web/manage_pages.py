"""The pages where an admin acts: Integration Table Mappings (run a job), Couplings (find a record and
couple, uncouple, synchronize, create it on the other side), and the route every action form posts to.

Each action is a DAG run: the job's own DAG for the mapping list's actions, the action's DAG
(bcsync.actions.catalog) for a record action. Imported by the routes on first use (pandas, the store).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bcsync.actions.catalog import ACTIONS, ActionError, action_request
from bcsync.operations import OperatorError, resolve_job
from bcsync.pipeline.services import Services
from bcsync.registry import IntegrationTableMapping, Registry
from bcsync.web import couplings, mappings, render, runs
from bcsync.web.action_forms import action_button, back_path, couple_form, started_notice
from bcsync.web.reading import broken_warning, page_registry, page_store
from bcsync.web.render import PageError, esc

log = logging.getLogger(__name__)

COUPLING_HEADERS = (
    "BC No.",
    "BC name",
    "Sales name",
    "Last synch. (UTC)",
    "To Sales",
    "From Sales",
    "Skipped",
    "BC ID",
    "Sales ID",
    "Actions",
)


# ---- Integration Table Mappings ----


def mappings_page(request: Request) -> Response:
    registry = page_registry()
    dags = runs.airflow_dags(m.dag_id for m in registry.mappings if m.dag_id)
    try:
        with page_store() as store:
            records = mappings.mapping_records(registry, store, dags)
        warning = broken_warning(registry)
    except PageError as error:  # no store yet: the mappings are still worth showing
        records = mappings.mapping_records(registry, None, dags)
        warning = " ".join(filter(None, [error.message, broken_warning(registry)]))
    if render.wants_json(request):
        return render.json_response({"mappings": records})
    body = started_notice(request) + mappings.mappings_html(registry, records)
    return HTMLResponse(
        render.layout(request, "Integration Table Mappings", body, current="mappings", warning=warning)
    )


def synchronize_job(request: Request, job: str, kind: str, user: Any) -> Response:
    """ "Run Full Synchronization" / "Synchronize Modified Records": a run of the job's DAG."""
    registry = page_registry()
    mapping = _job(registry, job)
    if kind not in mappings.SYNC_ACTIONS:
        raise PageError(400, f"kind must be one of {', '.join(mappings.SYNC_ACTIONS)}, not {kind!r}")
    title, conf = mappings.SYNC_ACTIONS[kind]
    dag_id = mapping.dag_id or ""
    if dag_id not in runs.airflow_dags([dag_id]):
        raise PageError(400, f"{mapping.name} has no DAG in Airflow ({dag_id}), so it cannot run.")
    run = runs.start_run(dag_id, dict(conf), note=f"{title} of {mapping.name}", user=user)
    return _started(request, f"mappings#{mapping.name}", title, run)


# ---- Couplings ----


def couplings_page(request: Request, job: str | None, query: str | None) -> Response:
    registry = page_registry()
    jobs = [m for m in registry.jobs if m.dag_id]
    mapping = _job(registry, job) if job else None
    records: list[dict[str, Any]] = []
    warning = broken_warning(registry)
    if mapping is not None:
        with page_store() as store:
            records, problem = couplings.coupling_records(store, Services(), mapping, query)
        warning = " ".join(filter(None, [problem, warning]))
    if render.wants_json(request):
        if mapping is None:
            raise PageError(400, "Choose a job: ?job=CUSTOMER (see 'bcsync mappings')")
        return render.json_response(
            {"job": mapping.name, "q": query, "warning": warning or None, "couplings": records}
        )

    search = (
        f'<label>Find a record<input class="search" name="q" value="{esc(query or "")}" '
        'placeholder="BC number or name, Sales name, or an id"></label>'
    )
    body = started_notice(request) + render.filters(
        [m.name for m in jobs], mapping and mapping.name, any_job=False, extra=search
    )
    if mapping is None:
        body += render.empty("Couplings are kept per job: choose one.")
    elif records:
        body += _couplings_table(mapping, records, back_path(request, "couplings"))
    else:
        body += render.empty(
            f"No record of {mapping.name} matches {query!r}."
            if query
            else f"{mapping.name} has no couplings yet."
        )
    return HTMLResponse(render.layout(request, "Couplings", body, current="couplings", warning=warning))


def _couplings_table(
    mapping: IntegrationTableMapping, records: Sequence[Mapping[str, Any]], back: str
) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in COUPLING_HEADERS)
    rows = []
    for record in records:
        cells = [
            _cell(record["bc_number"], "id"),
            _cell(record["bc_name"]),
            _cell(record["crm_name"]),
            _cell(render.time_text(record["last_synced_on"]), "time"),
            _result(record["to_crm_result"]),
            _result(record["from_crm_result"]),
            '<td><span class="badge warn">Skipped</span></td>' if record["skipped"] else "<td></td>",
            _cell(record["bc_id"], "id", title=True),
            _cell(record["crm_id"], "id", title=True),
            f'<td><div class="row-actions">{_row_actions(mapping, record, back)}</div></td>',
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-wrap"><table class="couplings"><thead><tr>{head}</tr></thead><tbody>'
        + "\n".join(rows)
        + "</tbody></table></div>"
    )


def _row_actions(mapping: IntegrationTableMapping, record: Mapping[str, Any], back: str) -> str:
    job = mapping.name
    if record["coupled"]:
        bc_id = record["bc_id"]
        return "".join(
            [
                action_button("synchronize_now", "Synchronize now", job, bc_id, back, css="small primary"),
                action_button("uncouple", "Uncouple", job, bc_id, back),
                action_button(
                    "delete_coupling",
                    "Delete coupling",
                    job,
                    bc_id,
                    back,
                    confirm="Delete the coupling? Both records stay; they are no longer synchronized.",
                ),
            ]
        )
    side = "bc" if record["bc_id"] else "crm"
    record_id = record["bc_id"] or record["crm_id"]
    writes = mapping.direction.to_crm if side == "bc" else mapping.direction.to_bc
    create = (
        action_button(
            "create_new",
            "Create in Sales" if side == "bc" else "Create in BC",
            job,
            record_id,
            back,
            options={"side": side},
        )
        if writes
        else ""
    )
    return couple_form(job, record_id, side, back) + create


def _result(value: str | None) -> str:
    if not value:
        return "<td></td>"
    css = "success" if value == "Success" else "failed" if value == "Failure" else ""
    return f'<td><span class="badge {css}">{esc(value)}</span></td>'


def _cell(value: Any, css: str = "", *, title: bool = False) -> str:
    text = "" if value is None else esc(value)
    attributes = f' class="{css}"' if css else ""
    if title and text:
        attributes += f' title="{text}"'
    return f"<td{attributes}>{text}</td>"


# ---- the actions ----


def start_action(
    request: Request, action: str, job: str, records: list[str], options: dict[str, Any], back: str, user: Any
) -> Response:
    """Any record action of the catalog, as a DAG run; bad input is a 400 page with the catalog's message."""
    spec = ACTIONS.get(action)
    try:
        dag_id, conf = action_request(action, job, records, **options)
    except ActionError as error:
        raise PageError(400, str(error)) from None
    title = spec.title if spec else action
    note = f"{title}: {conf.get('job', job)} {', '.join(records)}"
    if options.get("counterpart"):
        note += f" ↔ {options['counterpart']}"
    run = runs.start_run(dag_id, conf, note=note, user=user)
    return _started(request, back, title, run)


def _started(request: Request, back: str, title: str, run: runs.StartedRun) -> Response:
    if render.wants_json(request):
        return render.json_response({"title": title, "dag_id": run.dag_id, "run_id": run.run_id})
    path, _, fragment = back.partition("#")
    location = _with_params(
        f"{render.app_root(request)}/{_safe_page(path)}",
        started_title=title,
        started_dag=run.dag_id,
        started_run=run.run_id,
    )
    return RedirectResponse(location + (f"#{fragment}" if fragment else ""), status_code=303)


def _safe_page(path: str) -> str:
    """`back` names one of our pages (with its query); anything else goes to the couplings page, so a
    form cannot redirect elsewhere."""
    page = path.lstrip("/").split("?", 1)[0]
    known = {"mappings", "couplings", "jobs", "errors", "skipped"}
    return path.lstrip("/") if page in known else "couplings"


def _with_params(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _job(registry: Registry, job: str | None) -> IntegrationTableMapping:
    try:
        return resolve_job(registry, job or "")
    except OperatorError as error:
        raise PageError(400, str(error)) from None
