"""The buttons and small forms that start BC's record actions (couple, uncouple, synchronize now, ...)
and the notice a page shows after one started.

Every form posts to `actions/<action>` with the job, the records and the action's options, plus `back`:
the page (and its query) to return to. The route turns them into a DAG run through the contract's
`action_request` (bcsync.actions.catalog) and redirects back with the run's ids (Post/Redirect/Get).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from bcsync.web import render
from bcsync.web.render import esc

STARTED_PARAMS = ("started_title", "started_dag", "started_run")


def action_button(
    action: str,
    label: str,
    job: str,
    record: str,
    back: str,
    *,
    options: Mapping[str, Any] | None = None,
    css: str = "small",
    confirm: str = "",
) -> str:
    """One button starting `action` on one record."""
    fields = "".join(render.hidden(name, value) for name, value in (options or {}).items())
    check = f' onclick="return confirm({esc(_js_string(confirm))})"' if confirm else ""
    return (
        f'<form method="post" action="actions/{esc(action)}">'
        f"{render.hidden('job', job)}{render.hidden('records', record)}{render.hidden('back', back)}{fields}"
        f'<button type="submit" class="{esc(css)}"{check}>{esc(label)}</button></form>'
    )


def couple_form(job: str, record: str, side: str, back: str) -> str:
    """Couple one record to a record of the other side, named as the admin knows it."""
    other = "Sales account, name or id" if side == "bc" else "BC number, name or id"
    return (
        '<form method="post" action="actions/couple">'
        f"{render.hidden('job', job)}{render.hidden('records', record)}{render.hidden('back', back)}"
        f"{render.hidden('side', side)}"
        f'<input name="counterpart" required placeholder="{esc(other)}" aria-label="Couple to" '
        'style="height:26px;width:14rem">'
        '<label class="inline"><input type="checkbox" name="synchronize_after" value="true" checked>'
        "synchronize</label>"
        '<button type="submit" class="small">Couple</button></form>'
    )


def back_path(request: Request, page: str) -> str:
    """This page with its query, without an earlier run's notice: where an action's form returns."""
    params = {k: v for k, v in request.query_params.items() if k not in STARTED_PARAMS}
    return render.page_href(page, **params)


def started_notice(request: Request) -> str:
    """The notice after an action started: its title and a link to the run in Airflow (HTML)."""
    params = request.query_params
    dag_id, run_id = params.get("started_dag"), params.get("started_run")
    if not (dag_id and run_id):
        return ""
    title = params.get("started_title") or "The action"
    link = render.anchor(render.run_href(dag_id, run_id), esc(run_id))
    return (
        f'<div class="notice" role="status">{esc(title)} started: run {link} of {esc(dag_id)}. '
        "Its note shows the counters when it finishes.</div>"
    )


def _js_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
