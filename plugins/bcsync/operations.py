"""Operator commands on the coupling store: BC's job log, job errors and "CRM Skipped Records" pages.

`bcsync.cli` parses the arguments; this module reads and writes the store and renders what it finds,
as a readable table or as JSON-ready records. Importing it loads pandas and SQLAlchemy, so the
dispatcher imports it only for the commands that need it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bcsync.registry import IntegrationTableMapping, Registry
from bcsync.store import BC_SKIPS_AFTER, CouplingStore, Direction, SyncResult
from bcsync.store.schema import direction_prefix

STORE_CONN_ID = "bcsync_store"
COUNTERS = ("Inserted", "Modified", "Deleted", "Unchanged", "Skipped", "Failed", "Coupled")
SHORT_DIRECTIONS = {Direction.TO_CRM: "To", Direction.FROM_CRM: "From"}

Record = dict[str, Any]


class OperatorError(Exception):
    """A problem the operator can fix (a wrong name, a missing store); `exit_code` is the CLI's."""

    exit_code = 1


class UnknownJobNameError(OperatorError):
    """A job name that is neither a mapping's name nor one of its aliases."""

    exit_code = 2


# ---- resolving what the operator typed ----


def resolve_job(registry: Registry, name: str) -> IntegrationTableMapping:
    """A mapping by BC's name or alias; case is forgiven, since operators type `customer` as often as
    `CUSTOMER` and the store keys rows by the mapping's canonical name."""
    try:
        return registry.get(name)
    except KeyError:
        pass
    wanted = name.strip().casefold()
    for mapping in registry.mappings:
        if wanted in (n.casefold() for n in (mapping.name, *mapping.aliases)):
            return mapping
    known = ", ".join(_label(m) for m in registry.mappings)
    raise UnknownJobNameError(f"unknown job {name!r}; known jobs: {known}")


def parse_direction(text: str) -> Direction:
    """BC's short names (To, From) or option names (ToIntegrationTable, FromIntegrationTable), any case."""
    wanted = text.strip().casefold()
    for direction, short in SHORT_DIRECTIONS.items():
        if wanted in (short.casefold(), direction.value.casefold()):
            return direction
    raise ValueError(f"expected To or From (or {', '.join(d.value for d in Direction)}), got {text!r}")


def open_store(url: str | None) -> CouplingStore:
    """The store at `url`, else the one behind the Airflow Connection `bcsync_store`.

    A SQLite file that does not exist is refused rather than created: a mistyped path would otherwise
    show an empty, freshly migrated store as if nothing had ever synchronized.
    """
    store = CouplingStore(url) if url else CouplingStore.from_connection(STORE_CONN_ID)
    database = store.engine.url.database
    if store.engine.url.get_backend_name() == "sqlite" and database and not Path(database).is_file():
        store.dispose()
        source = "--store" if url else f"the Airflow Connection {STORE_CONN_ID!r} (or its embedded default)"
        raise OperatorError(
            f"no coupling store at {database} (from {source}); check the path, or run a synchronization first"
        )
    return store


# ---- the four pages ----


def job_log(store: CouplingStore, mapping: str | None, limit: int) -> list[Record]:
    """BC's Integration Synchronization Log, newest first."""
    records = []
    for row in _rows(store.jobs(mapping, limit=limit)):
        finished = _plain(row["finished_on"])
        records.append(
            {
                "job": row["mapping"],
                "direction": row["direction"],
                "type": row["type"],
                "run_id": _plain(row["run_id"]),
                "started_on": _plain(row["started_on"]),
                "finished_on": finished,
                # Counters are written when the job finishes; until then the stored zeros mean
                # "not known yet" (running, or its task died), so they are shown blank.
                **{
                    name.lower(): None if finished is None else _count(row[name.lower()]) for name in COUNTERS
                },
                "message": _plain(row["message"]),
                "job_id": row["job_id"],
            }
        )
    return records


def record_errors(store: CouplingStore, mapping: str | None, direction: Direction | None) -> list[Record]:
    """Open per-record errors (BC's Integration Synch. Job Errors), oldest first."""
    return error_records(store.open_errors(mapping, direction))


ERROR_STATUSES = {"open": False, "closed": True, "all": None}


def filtered_errors(
    store: CouplingStore,
    mapping: str | None,
    direction: Direction | None,
    *,
    status: str = "open",
    since: datetime | None = None,
    limit: int = 1000,
) -> list[Record]:
    """Errors open, closed (a later success of the record closed them) or all, logged since `since`."""
    return error_records(
        store.errors(mapping, direction, resolved=ERROR_STATUSES[status], since=since, limit=limit)
    )


def error_records(frame: pd.DataFrame) -> list[Record]:
    """The store's error rows as the pages and `--json` show them."""
    return [
        {
            "job": row["mapping"],
            "direction": row["direction"],
            "bc_id": _plain(row["bc_id"]),
            "bc_number": _plain(row["bc_number"]),
            "name": _plain(row["name"]),
            "crm_id": _plain(row["crm_id"]),
            "message": row["message"],
            "run_id": _plain(row["run_id"]),
            "task_id": _plain(row["task_id"]),
            "try_number": _count(row["try_number"]),
            "logged_on": _plain(row["logged_on"]),
            "job_id": _plain(row["job_id"]),
            "detail": _plain(row["detail"]),
            "error_id": _count(row["id"]),
            "status": "Closed" if row["resolved"] else "Open",
        }
        for row in _rows(frame)
    ]


def skipped_records(store: CouplingStore, mapping: str) -> list[Record]:
    """BC's CRM Skipped Records: each skipped coupling, the direction(s) that skipped it and its last error.

    The coupling keeps only a hash of its last failure, so the message comes from the newest open error
    logged for the record in a skipping direction.
    """
    # Oldest restore candidates first, stable between calls (the store returns them in no order).
    skipped = _rows(store.skipped(mapping).sort_values(["updated_on", "bc_id"], kind="stable"))
    if not skipped:
        return []
    errors = store.open_errors(mapping)
    records = []
    for row in skipped:
        directions = _skipping_directions(row)
        last = _last_error(errors, row["bc_id"], row["crm_id"], directions)
        records.append(
            {
                "bc_id": row["bc_id"],
                "crm_id": row["crm_id"],
                "skipped_by": [d.value for d in directions],
                "last_error": None if last is None else last["message"],
                "last_error_on": None if last is None else _plain(last["logged_on"]),
                "to_crm_failures": _count(row["to_crm_failures"]),
                "from_crm_failures": _count(row["from_crm_failures"]),
                "updated_on": _plain(row["updated_on"]),
            }
        )
    return records


@dataclass(frozen=True)
class RestoreOutcome:
    """What a restore did: how many couplings it restored, and the given ids it could not restore."""

    restored: int
    not_coupled: tuple[str, ...] = ()  # "BC id …" / "Dataverse id …" with no coupling in the mapping
    not_skipped: tuple[str, ...] = ()  # coupled, but not skipped: nothing to restore

    @property
    def unmatched(self) -> tuple[str, ...]:
        return self.not_coupled + self.not_skipped


def restore(
    store: CouplingStore,
    mapping: str,
    *,
    bc_ids: Sequence[str] = (),
    crm_ids: Sequence[str] = (),
    everything: bool = False,
) -> RestoreOutcome:
    """Restore skipped couplings for synchronization (BC's Restore / Restore All).

    The store only returns a count, so the given ids are looked up first to tell the operator which
    ones matched nothing, and why.
    """
    if everything:
        return RestoreOutcome(store.restore_skipped(mapping))
    known = store.couplings_for(mapping, bc_ids=bc_ids, crm_ids=crm_ids)
    not_coupled: list[str] = []
    not_skipped: list[str] = []
    for column, label, ids in (("bc_id", "BC id", bc_ids), ("crm_id", "Dataverse id", crm_ids)):
        coupled = dict(zip(known[column], known["skipped"].fillna(False).astype(bool), strict=True))
        for record_id in ids:
            if record_id not in coupled:
                not_coupled.append(f"{label} {record_id}")
            elif not coupled[record_id]:
                not_skipped.append(f"{label} {record_id}")
    restored = store.restore_skipped(mapping, bc_ids=bc_ids, crm_ids=crm_ids) if bc_ids or crm_ids else 0
    return RestoreOutcome(restored, tuple(not_coupled), tuple(not_skipped))


def restore_message(count: int) -> str:
    """BC's messages on the CRM Skipped Records page."""
    if count == 1:
        return "The record has been restored for synchronization."
    return f"{count} records have been restored for synchronization."


def delete_old_entries(store: CouplingStore, days: float, mapping: str | None = None) -> str:
    """BC's Delete Entries on the job log: errors and jobs older than `days` days go, except those that
    skipped couplings reference; returns what was done, in a sentence (the CLI and the pages show it)."""
    errors, jobs, kept = store.delete_entries_older_than(days, mapping)
    scope = f" of {mapping}" if mapping else ""
    kept_text = f"; kept {kept} referenced by skipped records" if kept else ""
    return (
        f"Deleted {errors} error(s) and {jobs} job log entr{'y' if jobs == 1 else 'ies'}{scope} "
        f"older than {days:g} day(s){kept_text}."
    )


# ---- rendering ----


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    numeric: bool = False


JOB_COLUMNS = (
    Column("Started (UTC)", "started_on"),
    Column("Finished (UTC)", "finished_on"),
    Column("Job", "job"),
    Column("Direction", "direction"),
    Column("Type", "type"),
    Column("Run ID", "run_id"),
    *(Column(name, name.lower(), numeric=True) for name in COUNTERS),
    Column("Message", "message"),
)
ERROR_COLUMNS = (
    Column("Time (UTC)", "logged_on"),
    Column("Job", "job"),
    Column("Direction", "direction"),
    Column("BC No.", "bc_number"),
    Column("BC ID", "bc_id"),
    Column("Dataverse ID", "crm_id"),
    Column("Run ID", "run_id"),
    Column("Task", "task_id"),
    Column("Try", "try_number", numeric=True),
    Column("Message", "message"),
)
SKIPPED_COLUMNS = (
    Column("BC ID", "bc_id"),
    Column("Dataverse ID", "crm_id"),
    Column("Skipped by", "skipped_by"),
    Column("Last error", "last_error"),
)


def render_table(columns: Sequence[Column], records: Iterable[Mapping[str, Any]]) -> str:
    """A plain-text table: columns as wide as their widest cell, numbers right-aligned, blanks empty.
    The long free-text column comes last in every table, so it can run on without breaking the grid."""
    cells = [[_cell(record.get(column.key)) for column in columns] for record in records]
    widths = [max([len(column.header), *(len(row[i]) for row in cells)]) for i, column in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if column.numeric else value.ljust(width)
            for column, value, width in zip(columns, values, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    header = line([column.header for column in columns])
    rule = "  ".join("-" * width for width in widths)
    return "\n".join([header, rule, *(line(row) for row in cells)])


def as_json_value(value: Any) -> Any:
    """`json.dumps(default=...)`: timestamps as ISO 8601 in UTC."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# ---- helpers ----


def _label(mapping: IntegrationTableMapping) -> str:
    return f"{mapping.name} ({', '.join(mapping.aliases)})" if mapping.aliases else mapping.name


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict("records")


def _plain(value: Any) -> Any:
    """A frame cell as a plain Python value: NaN/NaT/NA become None, Timestamps become UTC datetimes."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().astimezone(UTC)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


plain_value = _plain  # public: the web pages read store frames too


def _count(value: Any) -> int | None:
    plain = _plain(value)
    return None if plain is None else int(plain)


def cell_text(value: Any) -> str:
    """A record's value as an operator reads it: UTC times to the second, directions as To / From."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ", ".join(_short_direction(v) for v in value)
    return str(value)


def normalize_guid(text: str) -> str:
    """A record id as the store keeps it (lower case, hyphens, no braces); ValueError if not a GUID."""
    try:
        return str(uuid.UUID(text.strip().strip("{}")))
    except ValueError:
        raise ValueError(f"not a GUID: {text!r}") from None


def _cell(value: Any) -> str:
    # One line per row: a multi-line message would break the table.
    return " ".join(cell_text(value).split())


def _short_direction(value: str) -> str:
    try:
        return SHORT_DIRECTIONS[Direction(value)]
    except ValueError:
        return value


def _skipping_directions(coupling: Mapping[str, Any]) -> list[Direction]:
    """The direction(s) whose identical failures reached BC's threshold; else any whose last sync failed
    (a coupling skipped under another threshold still shows where it failed)."""
    failing = [d for d in Direction if coupling[f"{direction_prefix(d)}_result"] == SyncResult.FAILURE.value]
    reached = [
        d for d in failing if (_count(coupling[f"{direction_prefix(d)}_failures"]) or 0) >= BC_SKIPS_AFTER
    ]
    return reached or failing


def _last_error(
    errors: pd.DataFrame, bc_id: str, crm_id: str, directions: Sequence[Direction]
) -> Mapping[str, Any] | None:
    """The newest open error of this record, preferring the skipping direction(s)."""
    if errors.empty:
        return None
    mine = errors[(errors["bc_id"] == bc_id) | (errors["crm_id"] == crm_id)]
    preferred = mine[mine["direction"].isin([d.value for d in directions])]
    chosen = preferred if len(preferred) else mine
    if chosen.empty:
        return None
    return chosen.sort_values("id").iloc[-1].to_dict()
