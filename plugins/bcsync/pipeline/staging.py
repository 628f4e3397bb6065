"""Frames handed from task to task as Parquet files under an object-storage path.

Tasks exchange only paths and counts through XCom; the data itself lives under
`<staging root>/<dag_id>/<run_id>/<name>/part-NNNNN.parquet`. The root is a local folder by
default and any fsspec URL (s3://, gs://, abfs://) when workers are distributed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from io import BytesIO
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from bcsync.results import StagedFrame

STAGING_ENV = "BCSYNC_STAGING_URL"
JSON_COLUMNS = ("payload",)  # dicts with varying keys: stored as JSON text
_ENCODE = json.JSONEncoder(default=str).encode  # `json.dumps(v, default=str)` without a new encoder per row


def staging_root(url: str | None = None) -> ObjectStoragePath:
    """`url`, else `$BCSYNC_STAGING_URL`, else `$AIRFLOW_HOME/bcsync-staging` on the local disk."""
    default = f"file://{os.path.abspath(os.path.join(os.environ.get('AIRFLOW_HOME', '.'), 'bcsync-staging'))}"
    return ObjectStoragePath(url or os.environ.get(STAGING_ENV, default))


def run_folder(
    dag_id: str, run_id: str, mapping_name: str, root: ObjectStoragePath | None = None
) -> ObjectStoragePath:
    """Where one mapping's steps of one DAG run stage their frames (a DAG may run several mappings)."""
    return (root or staging_root()) / _safe(dag_id) / _safe(run_id) / _safe(mapping_name)


def write_frames(folder: ObjectStoragePath, name: str, frames: Iterable[pd.DataFrame]) -> StagedFrame:
    """Write frames (e.g. one per API page) as parts, replacing an earlier attempt's parts."""
    target = folder / name
    if target.exists():
        for part in target.iterdir():
            part.unlink()
    target.mkdir(parents=True, exist_ok=True)
    rows = 0
    written = 0
    for frame in frames:
        if frame.empty and written:
            continue
        _write_part(target / f"part-{written:05d}.parquet", frame)
        written += 1
        rows += len(frame)
    if written == 0:
        _write_part(target / "part-00000.parquet", pd.DataFrame())
    return StagedFrame(url=str(target), rows=rows)


def write_frame(folder: ObjectStoragePath, name: str, frame: pd.DataFrame) -> StagedFrame:
    return write_frames(folder, name, [frame])


def read_frame(staged: StagedFrame | str, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """All rows; with `columns`, only those of them the parts have (Parquet reads no other column)."""
    frames = list(iter_frames(staged, columns))
    frames = [frame for frame in frames if len(frame.columns)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def iter_frames(staged: StagedFrame | str, columns: Iterable[str] | None = None) -> Iterator[pd.DataFrame]:
    """The parts one after the other (e.g. one per API page), optionally only some `columns`."""
    wanted = None if columns is None else list(dict.fromkeys(columns))
    for part in _parts(staged):
        yield _read_part(part, wanted)


def read_rows(staged: StagedFrame | str, start: int, stop: int) -> pd.DataFrame:
    """Rows `start` to `stop` (exclusive) of a staged frame, reading only the parts that hold them (a
    part's row count comes from its Parquet footer). No rows: the first part's columns, none of its rows."""
    parts = _parts(staged)
    frames = []
    offset = 0
    for part in parts:
        with part.open("rb") as handle:
            rows = pq.ParquetFile(handle).metadata.num_rows
        if offset < stop and offset + rows > start:
            frames.append(_read_part(part).iloc[max(0, start - offset) : stop - offset])
        offset += rows
        if offset >= stop:
            break
    if not frames and parts:
        frames = [_read_part(parts[0]).iloc[0:0]]
    frames = [frame for frame in frames if len(frame.columns)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


def _parts(staged: StagedFrame | str) -> list[ObjectStoragePath]:
    url = staged.url if isinstance(staged, StagedFrame) else staged
    return sorted(ObjectStoragePath(url).iterdir(), key=lambda p: p.name)


def _read_part(part: ObjectStoragePath, columns: list[str] | None = None) -> pd.DataFrame:
    with part.open("rb") as handle:
        data = BytesIO(handle.read())
    if columns is None:
        frame = pd.read_parquet(data)
    else:
        present = set(pq.ParquetFile(data).schema_arrow.names)
        frame = pd.read_parquet(data, columns=[c for c in columns if c in present])
    for column in JSON_COLUMNS:
        if column in frame.columns:
            frame[column] = pd.Series(_decoded(frame[column]), index=frame.index, dtype=object)
    return frame


def _decoded(texts: pd.Series) -> list[Any]:
    """The JSON texts as values (None where there is no text), parsed as one array: one parser call
    for the column instead of one per row."""
    values = texts.to_numpy(dtype=object, na_value=None)
    return json.loads("[" + ",".join(v if isinstance(v, str) else "null" for v in values) + "]")


def _write_part(path: ObjectStoragePath, frame: pd.DataFrame) -> None:
    frame = frame.copy(deep=False)  # columns are replaced below, never changed in place
    for column in frame.columns:
        if column in JSON_COLUMNS:
            # Object dtype: pandas would otherwise build a string array of the texts first.
            texts = [None if v is None else _ENCODE(v) for v in frame[column]]
            frame[column] = pd.Series(texts, index=frame.index, dtype=object)
        elif frame[column].dtype == object and _may_hold_containers(frame[column]):
            frame[column] = [_plain(v) for v in frame[column]]
    buffer = BytesIO()
    frame.to_parquet(buffer, index=False)
    with path.open("wb") as handle:
        handle.write(buffer.getvalue())


# What `infer_dtype` says of object columns that hold no dict or list (checked in C, not per value).
_SCALAR_KINDS = frozenset(
    {
        "empty",
        "string",
        "bytes",
        "integer",
        "floating",
        "mixed-integer-float",
        "decimal",
        "boolean",
        "datetime64",
        "datetime",
        "date",
        "timedelta64",
        "timedelta",
        "time",
    }
)


def _may_hold_containers(column: pd.Series) -> bool:
    return pd.api.types.infer_dtype(column, skipna=True) not in _SCALAR_KINDS


def _plain(value: Any) -> Any:
    # Mixed Python objects (Decimal next to float, dicts) do not fit one Parquet type: keep text.
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return value


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)
