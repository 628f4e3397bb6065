"""BC's Integration Table Mappings page: each mapping with its direction, filters, conflict settings,
field mappings and latest job log entries, and the list's actions "Run Full Synchronization" and
"Synchronize Modified Records", which start the job's DAG (only for jobs whose DAG Airflow has)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bcsync.operations import job_log
from bcsync.registry import IntegrationTableMapping, Registry
from bcsync.registry.render import field_row, mapping_as_data
from bcsync.store import CouplingStore
from bcsync.web import render
from bcsync.web.render import esc as _e

# The list's two actions: what BC calls them → the job DAG's conf.
SYNC_ACTIONS = {
    "full": ("Run Full Synchronization", {"full_sync": True}),
    "modified": ("Synchronize Modified Records", {}),
}
RECENT_JOBS = 5
FIELD_HEADERS = ("BC field", "Caption", "Direction", "Sales field", "Notes")


def mapping_records(
    registry: Registry, store: CouplingStore | None, dags: Mapping[str, bool]
) -> list[dict[str, Any]]:
    """Every mapping as `bcsync mappings --json` shows it, plus whether its DAG is in Airflow (and
    paused) and its latest job log entries."""
    records = []
    for mapping in registry.mappings:
        record = mapping_as_data(mapping, registry.sources.get(mapping.name))
        record["dag_in_airflow"] = bool(mapping.dag_id) and mapping.dag_id in dags
        record["dag_paused"] = dags.get(mapping.dag_id or "")
        record["recent_jobs"] = job_log(store, mapping.name, RECENT_JOBS) if store else []
        records.append(record)
    return records


def mappings_html(registry: Registry, records: Sequence[Mapping[str, Any]]) -> str:
    by_name = {m.name: m for m in registry.mappings}
    cards = [_card(by_name[r["name"]], r) for r in records]
    return "\n".join(cards) or render.empty("No integration table mappings are loaded.")


def _card(mapping: IntegrationTableMapping, record: Mapping[str, Any]) -> str:
    facts = [
        (
            "Direction",
            f"{mapping.direction.value} ({mapping.bc_table} {mapping.direction.arrow} {mapping.crm_entity})",
        ),
        ("Synch. only coupled records", "Yes" if mapping.only_coupled else "No"),
        ("Table filter (BC)", mapping.table_filter or "—"),
        ("Integration table filter (Sales)", mapping.integration_table_filter or "—"),
        ("Company filter", "this company's rows and those of no company" if mapping.company_filter else "—"),
        ("Update conflict resolution", mapping.update_conflict_resolution.value),
        ("Deletion conflict resolution", mapping.deletion_conflict_resolution.value),
        ("Dependencies", ", ".join(mapping.dependencies) or "—"),
        ("Schedule", mapping.schedule.describe() if mapping.schedule else "—"),
        ("Job", _job_text(mapping)),
    ]
    facts_html = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in facts)
    aliases = f' <span class="muted">({_e(", ".join(mapping.aliases))})</span>' if mapping.aliases else ""
    description = f'<p class="muted">{_e(mapping.description)}</p>' if mapping.description else ""
    return (
        f'<section class="card" id="{_e(mapping.name)}"><h2>{_e(mapping.name)}{aliases} '
        f"{_dag_badge(mapping, record)}</h2>{description}"
        f'<dl class="facts">{facts_html}</dl>{_actions(mapping, record)}'
        f"<details><summary>Field mappings ({len(mapping.fields)})</summary>{_fields(mapping)}</details>"
        f"{_recent_jobs(mapping, record['recent_jobs'])}</section>"
    )


def _job_text(mapping: IntegrationTableMapping) -> str:
    if mapping.parent:
        return f"runs in {mapping.parent}'s job"
    return mapping.dag_id or "—"


def _dag_badge(mapping: IntegrationTableMapping, record: Mapping[str, Any]) -> str:
    if not mapping.dag_id:
        return ""
    if not record["dag_in_airflow"]:
        return '<span class="badge warn">no DAG in Airflow</span>'
    dag = render.anchor(render.dag_href(mapping.dag_id), _e(mapping.dag_id))
    paused = ' <span class="badge warn">paused</span>' if record["dag_paused"] else ""
    return f'<span class="badge">{dag}</span>{paused}'


def _actions(mapping: IntegrationTableMapping, record: Mapping[str, Any]) -> str:
    """The list's actions, for a job whose DAG Airflow has; its job log and couplings for every job."""
    links = [
        f'<a href="{_e(render.page_href("jobs", job=mapping.name))}">Integration Synch. Job List</a>',
        f'<a href="{_e(render.page_href("couplings", job=mapping.name))}">Couplings</a>',
        f'<a href="{_e(render.page_href("errors", job=mapping.name))}">Errors</a>',
    ]
    if mapping.parent or not record["dag_in_airflow"]:
        return f'<div class="actions">{" · ".join(links)}</div>'
    buttons = "".join(
        f'<form method="post" action="mappings/synchronize">{render.hidden("job", mapping.name)}'
        f'{render.hidden("kind", kind)}<button type="submit"{" class=primary" if kind == "modified" else ""}>'
        f"{_e(title)}</button></form>"
        for kind, (title, _) in SYNC_ACTIONS.items()
    )
    return f'<div class="actions">{buttons}<span class="muted">{" · ".join(links)}</span></div>'


def _fields(mapping: IntegrationTableMapping) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in FIELD_HEADERS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in field_row(f)) + "</tr>" for f in mapping.fields
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def _recent_jobs(mapping: IntegrationTableMapping, jobs: Iterable[Mapping[str, Any]]) -> str:
    jobs = list(jobs)
    if not jobs:
        return '<p class="muted">No synchronization jobs recorded yet.</p>'
    lines = []
    for job in jobs:
        counters = " · ".join(
            f"{name} {job[name.lower()]}"
            for name in ("Inserted", "Modified", "Deleted", "Failed")
            if job[name.lower()]
        )
        state = "running" if job["finished_on"] is None else ("failed" if job["failed"] else "success")
        when = _e(render.time_text(job["started_on"]))
        lines.append(
            f'<li><span class="badge {state}">{state}</span> {when} {_e(job["direction"])} '
            f'<span class="muted">{_e(counters or "nothing changed")}</span></li>'
        )
    return f"<details><summary>Latest jobs</summary><ul>{''.join(lines)}</ul></details>"
