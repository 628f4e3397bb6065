"""Airflow listener: writes BC's job counters into the note of every finished bcsync DAG run.

Registered by `plugins/bcsync_plugin.py`. Where the hooks run in Airflow 3.3 (read from the installed
source): `DagRun.update_state` in the **scheduler** (`_schedule_dag_run`; also a run's timeout), the
**API server** when a user sets a run's state (`PATCH .../dagRuns/{id}`), and the process running
`dag.test()`. All three hold the run as an ORM object in an open metadata-DB session that they commit
afterwards, so the note is set on that object (`DagRun.note`, stored in `dag_run_note`) and goes into
the caller's transaction: no commit of our own inside the scheduler loop, where Airflow forbids it.
Task processes never call DAG-run hooks (and must not touch the DB), so importing this module stays
cheap: Airflow's core modules are imported inside the hooks.

The counters come from the `record_job` task's XCom (`return_value`) of the same run: a
`bcsync.results.JobResult`, read through its plain summary
`{"dry_run": bool, "directions": {"ToIntegrationTable": {"status": "done", "Inserted": 3, ...}}}`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.listeners import hookimpl

from bcsync.actions.catalog import ACTION_TASK_ID, ACTIONS
from bcsync.engine.model import JOB_LOG_COUNTERS
from bcsync.results import JobResult

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

log = logging.getLogger(__name__)

DAG_ID_PREFIX = "bcsync_"
RECORD_TASK_ID = "record_job"
# dag_run_note.content is String(1000).
NOTE_MAX_LENGTH = 1000
# Lines this listener owns: replaced when the run finishes again (cleared and rerun), while anything a
# user wrote (a note given when triggering, say) is kept above them.
_OWN_LINE = re.compile(r"^(ToIntegrationTable|FromIntegrationTable|bcsync)\b[^:\n]*:")


def format_direction(direction: str, result: Mapping[str, Any], *, coupling: bool = False) -> str:
    """`ToIntegrationTable: Inserted 3 · Modified 0 · ... · Failed 1`, with the status when not "done"."""
    status = str(result.get("status") or "done")
    if status == "load failed":
        # No counters: the load task failed as a whole, so nothing per record is known.
        return f"{direction}: load failed (see the load task log; the watermark did not move)"
    # BC's job-log columns; a manual action's run also shows its Coupling / Uncoupling job's counters.
    shown = [*JOB_LOG_COUNTERS, *(("Coupled", "Uncoupled") if coupling else ())]
    counters = " · ".join(f"{name} {int(result.get(name) or 0)}" for name in shown)
    suffix = "" if status == "done" else f" ({status})"
    return f"{direction}: {counters}{suffix}"


def format_summary(summary: Any, msg: str = "") -> str:
    """The note text for one run from `record_job`'s result or its summary (None: not recorded)."""
    if isinstance(summary, JobResult) or (isinstance(summary, Mapping) and "__data__" in summary):
        summary = JobResult.coerce(summary).summary()
    if not isinstance(summary, Mapping) or not isinstance(summary.get("directions"), Mapping):
        reason = f" (run ended: {msg})" if msg else ""
        return f"bcsync: the job was not recorded{reason}; see the record_job task log"
    action = summary.get("run_kind") in ACTIONS
    lines = [format_direction(str(d), r or {}, coupling=action) for d, r in summary["directions"].items()]
    if not lines:
        lines.append("bcsync: no direction ran")
    if summary.get("dry_run"):
        lines.append("bcsync: dry run, nothing was written")
    if summary.get("message"):
        lines.append(f"bcsync: {summary['message']}")
    return "\n\n".join(lines)  # blank lines: the UI renders notes as Markdown paragraphs


def merge_note(existing: str | None, ours: str) -> str:
    """Keep a user's note, replace our own earlier lines, cap at the column's length."""
    kept = [line for line in (existing or "").split("\n") if not _OWN_LINE.match(line)]
    user_text = "\n".join(kept).strip()
    note = f"{user_text}\n\n{ours}" if user_text else ours
    if len(note) > NOTE_MAX_LENGTH:
        note = note[: NOTE_MAX_LENGTH - 1] + "…"
    return note


def read_summary(dag_run: DagRun) -> Any:
    """`record_job`'s return value for this run from the XCom table, or None.

    Read in a session of its own (not the scoped one, which is the caller's): a failing query cannot
    leave the scheduler's transaction aborted, and its commit-on-exit cannot commit the scheduler's
    work (the scheduler forbids commits inside its loop: "UNEXPECTED COMMIT"). The row was committed
    by the API server when record_job finished, so a second connection sees it.
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session(scoped=False) as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_run_id == dag_run.id,
                # A job's run records in record_job; a manual action's DAG in its one task.
                XComModel.task_id.in_((RECORD_TASK_ID, ACTION_TASK_ID)),
                XComModel.map_index == -1,
                XComModel.key == "return_value",
            )
        ).first()
        return XComModel.deserialize_value(row) if row is not None else None


def write_run_note(dag_run: DagRun, msg: str = "") -> None:
    """Set the note of a finished bcsync run on the ORM object the caller holds and commits."""
    from sqlalchemy.orm import object_session

    text = format_summary(read_summary(dag_run), msg)
    if object_session(dag_run) is not None:
        _set_note(dag_run, text)
        return
    # Not expected in 3.3 (every caller passes an attached run); then a short transaction of our own.
    from airflow.models.dagrun import DagRun as DagRunModel
    from airflow.utils.session import create_session

    with create_session(scoped=False) as own:
        attached = own.get(DagRunModel, dag_run.id)
        if attached is not None:
            _set_note(attached, text)


def _set_note(dag_run: DagRun, text: str) -> None:
    note = merge_note(dag_run.note, text)
    if dag_run.dag_run_note is None:
        dag_run.note = note
    else:
        dag_run.dag_run_note.content = note  # keeps the user_id of whoever wrote the note first


def _on_finished(dag_run: DagRun, msg: str) -> None:
    if not str(getattr(dag_run, "dag_id", "")).startswith(DAG_ID_PREFIX):
        return
    try:
        write_run_note(dag_run, msg)
    except Exception:
        # A note is informational: never let it break the scheduler loop or an API request.
        log.exception("bcsync: could not write the note of %s %s", dag_run.dag_id, dag_run.run_id)


@hookimpl
def on_dag_run_success(dag_run: DagRun, msg: str) -> None:
    _on_finished(dag_run, msg)


@hookimpl
def on_dag_run_failed(dag_run: DagRun, msg: str) -> None:
    _on_finished(dag_run, msg)
