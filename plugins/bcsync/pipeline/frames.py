"""Native API frames ↔ the engine's column names, and couplings oriented for a pass."""

from __future__ import annotations

import pandas as pd

from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    Side,
    SyncPass,
)
from bcsync.pipeline.specs import side_columns
from bcsync.registry.model import IntegrationTableMapping

ORIENTED_COUPLING_COLUMNS = [
    SOURCE_ID,
    DESTINATION_ID,
    "source_synced_on",
    "destination_synced_on",
    "last_result",
    "skipped",
]


def as_source(frame: pd.DataFrame, mapping: IntegrationTableMapping, side: Side) -> pd.DataFrame:
    return _rename(frame, mapping, side, SOURCE_ID, SOURCE_MODIFIED)


def as_destination(frame: pd.DataFrame, mapping: IntegrationTableMapping, side: Side) -> pd.DataFrame:
    return _rename(frame, mapping, side, DESTINATION_ID, DESTINATION_MODIFIED)


def as_destination_of_source(frame: pd.DataFrame) -> pd.DataFrame:
    """`as_source`'s frame as `as_destination` would have made it from the same records (its values
    are not copied)."""
    return frame.rename(columns={SOURCE_ID: DESTINATION_ID, SOURCE_MODIFIED: DESTINATION_MODIFIED})


def _rename(
    frame: pd.DataFrame, mapping: IntegrationTableMapping, side: Side, id_column: str, modified_column: str
) -> pd.DataFrame:
    columns = side_columns(mapping, side)
    if frame.empty and not len(frame.columns):
        return pd.DataFrame(columns=[id_column, modified_column])
    renames = {columns.key: id_column}
    if columns.modified:
        renames[columns.modified] = modified_column
    renames.update({f"_{name}_value": name for name in columns.lookup_fields})
    out = frame.rename(columns=renames)
    if modified_column in out.columns:
        out[modified_column] = pd.to_datetime(out[modified_column], utc=True, format="ISO8601")
    out[id_column] = out[id_column].astype(str).str.lower()
    return out.drop_duplicates(subset=[id_column], keep="last", ignore_index=True)


def oriented_couplings(couplings: pd.DataFrame, sync_pass: SyncPass) -> pd.DataFrame:
    """The store's couplings with source/destination columns for the pass (what the planner reads)."""
    if couplings.empty:
        return pd.DataFrame(columns=ORIENTED_COUPLING_COLUMNS)
    to_crm = sync_pass is SyncPass.TO_CRM
    source, destination = ("bc", "crm") if to_crm else ("crm", "bc")
    prefix = "to_crm" if to_crm else "from_crm"
    return pd.DataFrame(
        {
            SOURCE_ID: couplings[f"{source}_id"].astype(str),
            DESTINATION_ID: couplings[f"{destination}_id"].astype(str),
            "source_synced_on": couplings[f"{source}_synced_on"],
            "destination_synced_on": couplings[f"{destination}_synced_on"],
            "last_result": couplings[f"{prefix}_result"],
            "skipped": couplings["skipped"].astype(bool),
        }
    )


def concat_alike(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one after the other. A column with no value at all in one frame (objects: e.g. no
    destination id in a chunk of creates) takes the type it has in the others, as if their records
    had been planned together, rather than turning the whole column into objects."""
    if len(frames) == 1:
        return frames[0]
    frames = list(frames)
    for column in frames[0].columns:
        typed = next((f[column].dtype for f in frames if column in f and f[column].dtype != object), None)
        if typed is None:
            continue
        for i, frame in enumerate(frames):
            if column in frame and frame[column].dtype == object and frame[column].isna().all():
                frames[i] = frame.assign(**{column: pd.Series(index=frame.index, dtype=typed)})
    return pd.concat(frames, ignore_index=True)
