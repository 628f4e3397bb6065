"""The couple step's lookups by id, done on Arrow text without a Python string per id."""

from __future__ import annotations

import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import Side, SyncPass
from bcsync.engine.values import is_in
from bcsync.pipeline.couple import _counterparts
from bcsync.pipeline.staging import write_frames
from bcsync.registry import load_registry
from bcsync.results import ExtractResult


def test_is_in_takes_an_arrow_text_column_as_the_values_as_it_takes_their_set() -> None:
    column = pd.Series(["a", "b", None, "d"], dtype=str)
    values = pd.Series(["d", "b", "x"], dtype=str)

    assert is_in(column, values).tolist() == is_in(column, set(values)).tolist() == [False, True, False, True]
    with_blank = pd.Series(["b", None], dtype=str)  # pandas' own rule: a blank matches a blank
    expected = [False, True, True, False]
    assert is_in(column, with_blank).tolist() == column.isin(with_blank).tolist() == expected


def test_counterparts_come_from_the_extract_each_id_from_the_first_part_that_has_it(tmp_path) -> None:
    mapping = load_registry().get("CUSTOMER")
    key = mapping.crm_key
    parts = [
        pd.DataFrame({key: ["A1", "a2", "a9"], "name": ["one", "two", "nine"]}),
        pd.DataFrame({key: ["a2", "a3", "a3"], "name": ["two again", "three", "three twice"]}),
        pd.DataFrame({key: [None, "a4"], "name": ["no id", "four"]}),
    ]
    staged = write_frames(ObjectStoragePath(f"file://{tmp_path}"), "extract_crm", parts)
    extract = ExtractResult(side="crm", staged=staged, started_at="2026-01-01T00:00:00Z")
    wanted = pd.Series(["a1", "a2", "a3", "a4", "a2"], dtype=str)

    found = pd.concat(list(_counterparts(mapping, SyncPass.TO_CRM, None, extract, wanted)))  # type: ignore[arg-type]

    assert SyncPass.TO_CRM.destination is Side.CRM
    assert found["name"].tolist() == ["one", "two", "three", "three twice", "four"]
