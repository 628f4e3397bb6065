"""Bulk writes of many rows in one go: executemany on SQLite, COPY into a temporary table and one
INSERT ... SELECT on PostgreSQL (multi-row VALUES statements cost about 3x more there at 100,000 rows).

On SQLite the rows go to the driver as tuples of values converted column by column (timestamps as
the fixed-width text SQLAlchemy stores): SQLAlchemy's per-value bind processing cost more than the
insert itself at 100,000 rows.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Boolean, Column, Connection, MetaData, Table, select
from sqlalchemy.dialects import postgresql

from bcsync.store.database import dialect_insert
from bcsync.store.frames import batches, records
from bcsync.store.schema import UtcDateTime

# Adds the ON CONFLICT clause; called with the dialect's INSERT (both have the same on_conflict_* API).
ConflictClause = Callable[[Any], Any]
_COPY_NULL = "\\N"
_DATE_LENGTH = len("YYYY-MM-DD")  # where an ISO timestamp's "T" is
_EXECUTEMANY_ROWS = 50_000  # rows whose Python values SQLite's executemany is handed at a time


def bulk_insert(
    conn: Connection,
    table: Table,
    frame: pd.DataFrame,
    on_conflict: ConflictClause | None = None,
) -> int:
    """Insert the frame's rows (its columns are the table's), with an optional ON CONFLICT clause.
    Returns how many rows were inserted (an ON CONFLICT ... DO NOTHING skips some)."""
    if frame.empty:
        return 0
    if conn.dialect.name == "postgresql":
        return _copy_then_insert(conn, table, frame, on_conflict)
    statement = dialect_insert(conn, table)
    if on_conflict is not None:
        statement = on_conflict(statement)
    inserted = _sqlite_executemany(conn, table, frame, statement)
    if inserted is not None:
        return inserted
    return sum(conn.execute(statement, list(batch)).rowcount for batch in batches(records(frame)))


def _sqlite_executemany(conn: Connection, table: Table, frame: pd.DataFrame, statement: Any) -> int | None:
    """The insert as the driver's executemany over typed columns, and the rows it inserted; None when
    the frame needs SQLAlchemy's per-value handling (timestamps that are not one UTC-aware column,
    column defaults)."""
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(frame.columns))
    order = compiled.positiontup or []
    if sorted(order) != sorted(frame.columns):
        return None
    kinds = [table.c[name].type for name in order]
    if any(_needs_sqlalchemy(frame[name], kind) for name, kind in zip(order, kinds, strict=True)):
        return None
    # Rows streamed to the driver, their Python values built a part at a time (a million couplings'
    # values at once are hundreds of MB), in the caller's one transaction.
    cursor = conn.connection.dbapi_connection.cursor()
    inserted = 0
    try:
        for start in range(0, len(frame), _EXECUTEMANY_ROWS):
            part = frame.iloc[start : start + _EXECUTEMANY_ROWS]
            columns = [_sqlite_values(part[name], kind) for name, kind in zip(order, kinds, strict=True)]
            cursor.executemany(compiled.string, zip(*columns, strict=True))
            inserted += cursor.rowcount
        return inserted
    finally:
        cursor.close()


def _needs_sqlalchemy(column: pd.Series, kind: Any) -> bool:
    """Values the driver cannot be handed as they are: timestamps that are not one UTC-aware column
    (naive values are refused value by value, as the type does)."""
    return (
        isinstance(kind, UtcDateTime)
        and not isinstance(column.dtype, pd.DatetimeTZDtype)
        and bool(column.notna().any())
    )


def _sqlite_values(column: pd.Series, kind: Any) -> list[Any]:
    """The column as the driver takes it, as SQLAlchemy would bind it (`_needs_sqlalchemy` false)."""
    present = column.notna()
    if isinstance(kind, UtcDateTime):
        if not present.any():
            return [None] * len(column)
        naive = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        return _sqlite_timestamps(naive, present.to_numpy())
    if present.all():  # nothing to turn into NULL: the values as they are
        if isinstance(kind, Boolean) and column.dtype != bool:
            return [bool(value) for value in column.tolist()]
        return column.tolist()
    if isinstance(kind, Boolean) and column.dtype != bool:
        return [None if not known else bool(value) for value, known in zip(column, present, strict=True)]
    return column.astype(object).where(present, None).tolist()


def _sqlite_timestamps(naive: np.ndarray, present: np.ndarray) -> list[str | None]:
    """Naive UTC datetime64[us] values as "YYYY-MM-DD HH:MM:SS.ffffff" texts (None where absent)."""
    text = np.datetime_as_string(naive, unit="us")
    # The ISO "T" made a space in place: the texts' characters as a (rows, width) array of code points.
    text.view(np.uint32).reshape(len(text), -1)[:, _DATE_LENGTH] = ord(" ")
    if present.all():
        return text.tolist()
    return [value if known else None for value, known in zip(text.tolist(), present.tolist(), strict=True)]


def _copy_then_insert(
    conn: Connection, table: Table, frame: pd.DataFrame, on_conflict: ConflictClause | None
) -> int:
    columns = list(frame.columns)
    staging = Table(
        f"staging_{table.name}_{uuid.uuid4().hex[:8]}",
        MetaData(),
        *(Column(name, table.c[name].type) for name in columns),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    staging.create(conn)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {staging.name} ({', '.join(columns)}) FROM STDIN", _copy_text(frame))
    finally:
        cursor.close()
    statement = postgresql.insert(table).from_select(columns, select(*staging.columns))
    if on_conflict is not None:
        statement = on_conflict(statement)
    return conn.execute(statement).rowcount


def _copy_text(frame: pd.DataFrame) -> io.StringIO:
    """The frame in COPY's text format: tab-separated lines, \\N for NULL, special characters escaped."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            text = column.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        else:
            text = column.astype(object).map(_copy_value, na_action="ignore")
        columns.append(text.where(column.notna(), _COPY_NULL).tolist())
    lines = ["\t".join(row) for row in zip(*columns, strict=True)]
    return io.StringIO("\n".join(lines) + "\n")


def _copy_value(value: object) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if any(character in text for character in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text
