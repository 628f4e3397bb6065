"""HTML for bcsync's pages: one plain layout, tables, filter forms and error pages; JSON alternatives.

Every value that reaches the HTML goes through `html.escape` (text and attribute values alike); the
only script is the theme's (`theme.py`: Airflow's colours, links into Airflow in the top window).
Links are relative to the app's root, set as the page's `<base href>` from the
request's root path (as Airflow's own UI does): `jobs?job=…` is a page of ours, `../dags/…` the Airflow
UI, so the HTML works wherever Airflow is served, also under a path prefix.

Light on purpose (no pandas, no store): the app module uses it to render error pages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bcsync.web import PAGES, theme

AIRFLOW_UI = "../"  # from the app's root (<prefix>/bcsync/) to the Airflow UI's
SHORT_DIRECTIONS = {"ToIntegrationTable": "To", "FromIntegrationTable": "From"}


class PageError(Exception):
    """A request the page cannot answer: 400 (the operator's input) or 503 (the store or the mappings)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class ColumnLike(Protocol):
    header: str
    key: str
    numeric: bool


Link = Callable[[Mapping[str, Any]], str | None]


# ---- content negotiation ----


def wants_json(request: Request) -> bool:
    """`?format=json`, or an Accept header asking for JSON rather than HTML."""
    if request.query_params.get("format", "").lower() == "json":
        return True
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


def json_response(data: Any, status_code: int = 200) -> Response:
    """JSON with timestamps as ISO 8601 (the CLI's `--json` conventions)."""
    body = json.dumps(data, ensure_ascii=False, default=_json_value)
    return Response(body, status_code=status_code, media_type="application/json")


def error_response(request: Request, status_code: int, message: str) -> Response:
    if wants_json(request):
        return json_response({"status": status_code, "error": message}, status_code)
    title = "Not available" if status_code >= 500 else "Cannot show this page"
    body = f'<div class="error">{_e(message)}</div>'
    return HTMLResponse(layout(request, title, body, current=None), status_code=status_code)


def app_root(request: Request) -> str:
    """The path the app is mounted at (`/bcsync`, with any prefix Airflow is served under)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


# ---- page parts ----


def layout(
    request: Request, title: str, body: str, *, current: str | None, notice: str = "", warning: str = ""
) -> str:
    current_tab = ' class="current" aria-current="page"'
    links = "".join(
        f'<a href="{_e(path)}"{current_tab if path == current else ""}>{_e(name)}</a>' for path, name in PAGES
    )
    notices = "".join(
        f'<div class="notice{cls}" role="status">{_e(text)}</div>'
        for text, cls in ((notice, ""), (warning, " warn"))
        if text
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<base href="{_e(app_root(request))}/">'
        f"<title>{_e(title)} · bcsync</title><style>{theme.css()}</style>{theme.script_tag()}</head>\n"
        f'<body><nav class="tabs">{links}</nav><h1>{_e(title)}</h1>\n{notices}{body}\n</body></html>\n'
    )


def anchor(href: str, text: str) -> str:
    """A link; one into the Airflow UI opens in the top window (theme.py), never inside the frame."""
    if href.startswith(AIRFLOW_UI):
        return f'<a href="{_e(href)}" target="_top" data-airflow>{text}</a>'
    return f'<a href="{_e(href)}">{text}</a>'


def filters(
    jobs: Sequence[str],
    job: str | None,
    *,
    any_job: bool = True,
    direction: str | None = None,
    with_direction: bool = False,
    limit: int | None = None,
    extra: str = "",
) -> str:
    """The GET form on top of a page: job (and direction, and how many, and `extra` fields' HTML)."""
    options = [("", "All jobs")] if any_job else [("", "Choose a job…")]
    options += [(name, name) for name in jobs]
    parts = [f"<label>Job{select('job', options, job or '')}</label>"]
    if with_direction:
        directions = [("", "Both"), *((d, f"{s} ({d})") for d, s in SHORT_DIRECTIONS.items())]
        parts.append(f"<label>Direction{select('direction', directions, direction or '')}</label>")
    if limit is not None:
        parts.append(
            f'<label>Show<input type="number" name="limit" min="1" max="1000" value="{_e(limit)}"></label>'
        )
    parts.append(extra)
    parts.append('<button type="submit">Show</button>')
    return f'<form class="filters" method="get">{"".join(parts)}</form>'


def table(
    columns: Sequence[ColumnLike],
    records: Iterable[Mapping[str, Any]],
    *,
    links: Mapping[str, Link] | None = None,
    extra: tuple[str, Callable[[Mapping[str, Any]], str]] | None = None,
) -> str:
    """A table of records; `links` turns a column's cells into links, `extra` adds a last column of
    ready-made HTML (the Restore buttons)."""
    # The CLI's cell format; imported here, as only the pages (which load the store anyway) draw tables.
    from bcsync.operations import cell_text

    links = links or {}
    head = "".join(f"<th>{_e(c.header)}</th>" for c in columns)
    if extra:
        head += f"<th>{_e(extra[0])}</th>"
    rows = []
    for record in records:
        cells = []
        for column in columns:
            value = record.get(column.key)
            text = _e(cell_text(value))
            href = links[column.key](record) if column.key in links and value is not None else None
            if href:
                text = anchor(href, text)
            css = _cell_class(column, value)
            cells.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
        if extra:
            cells.append(f"<td>{extra[1](record)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def hidden(name: str, value: Any) -> str:
    return f'<input type="hidden" name="{_e(name)}" value="{_e(value)}">'


def empty(text: str) -> str:
    return f'<p class="muted">{_e(text)}</p>'


# ---- links into the Airflow UI (Airflow 3.3's routes) ----


def dag_href(dag_id: str) -> str:
    return f"{AIRFLOW_UI}dags/{_segment(dag_id)}"


def run_href(dag_id: str, run_id: str) -> str:
    return f"{dag_href(dag_id)}/runs/{_segment(run_id)}"


def task_href(dag_id: str, run_id: str, task_id: str, try_number: int | None) -> str:
    href = f"{run_href(dag_id, run_id)}/tasks/{_segment(task_id)}"
    return f"{href}?{urlencode({'try_number': try_number})}" if try_number else href


def page_href(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def user_name(user: Any) -> str:
    """Who asked, for the API server's log and the runs' "triggered by"."""
    try:
        return str(user.get_name())
    except Exception:
        return "a user"


def time_text(value: Any) -> str:
    """A time as the tables show it (UTC, to the second)."""
    from bcsync.operations import cell_text

    return cell_text(value)


# ---- helpers ----


def esc(value: Any) -> str:
    """Text or an attribute value, escaped for HTML."""
    return escape(str(value), quote=True)


_e = esc


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def select(name: str, options: Iterable[tuple[str, str]], selected: str) -> str:
    items = "".join(
        f'<option value="{_e(value)}"{" selected" if value == selected else ""}>{_e(label)}</option>'
        for value, label in options
    )
    return f'<select name="{_e(name)}">{items}</select>'


def _cell_class(column: ColumnLike, value: Any) -> str:
    if column.numeric:
        return "num"
    if isinstance(value, datetime):
        return "time"
    if column.key.endswith("_id") or column.key == "bc_number":
        return "id"
    return "text" if column.key in ("message", "last_error") else ""


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
