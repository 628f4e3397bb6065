"""Per-mapping, per-direction modified-on watermarks: BC's "Synch. Int. Tbl. Mod. On Fltr." (To) and
"Synch. Modified On Filter" (From). They only ever move forward; a Full Synchronization clears them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, delete, select

from bcsync.store.database import dialect_insert
from bcsync.store.frames import to_frame
from bcsync.store.schema import Direction, watermarks

COLUMNS = [column.name for column in watermarks.columns]


def get_watermark(conn: Connection, mapping: str, direction: Direction) -> datetime | None:
    query = select(watermarks.c.modified_on).where(
        watermarks.c.mapping == mapping, watermarks.c.direction == direction.value
    )
    return conn.execute(query).scalar_one_or_none()


def advance_watermark(
    conn: Connection, mapping: str, direction: Direction, value: datetime, *, now: datetime
) -> datetime:
    """Store `value` if it is later than the stored watermark; returns the watermark now in force.

    The comparison happens in the database (`ON CONFLICT ... WHERE`), so two runs racing each other
    cannot move it backwards either.
    """
    statement = dialect_insert(conn, watermarks).values(
        mapping=mapping, direction=direction.value, modified_on=value, updated_on=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[watermarks.c.mapping, watermarks.c.direction],
        set_={"modified_on": statement.excluded.modified_on, "updated_on": statement.excluded.updated_on},
        where=watermarks.c.modified_on < statement.excluded.modified_on,
    )
    conn.execute(statement)
    stored = get_watermark(conn, mapping, direction)
    assert stored is not None  # just written or already later
    return stored


def clear_watermarks(conn: Connection, mapping: str, directions: Iterable[Direction]) -> int:
    """Forget the watermarks, so the next run reads every record (BC's "Run Full Synchronization")."""
    values = [direction.value for direction in directions]
    statement = delete(watermarks).where(watermarks.c.mapping == mapping, watermarks.c.direction.in_(values))
    return conn.execute(statement).rowcount


def select_watermarks(conn: Connection, mapping: str | None = None) -> pd.DataFrame:
    query = select(*watermarks.columns).order_by(watermarks.c.mapping, watermarks.c.direction)
    if mapping is not None:
        query = query.where(watermarks.c.mapping == mapping)
    return to_frame(conn.execute(query).all(), COLUMNS, ["modified_on", "updated_on"])
