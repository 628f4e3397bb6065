"""Frames handed between tasks as Parquet parts under an object-storage path."""

import pandas as pd
from airflow.sdk import ObjectStoragePath
from airflow.sdk.serde import deserialize, serialize

from bcsync.pipeline.staging import read_frame, read_rows, run_folder, write_frame, write_frames


def test_pages_are_written_as_parts_and_read_back_as_one_frame(tmp_path):
    folder = run_folder(
        "bcsync_customer",
        "manual__2026-01-01T00:00:00+00:00",
        "CUSTOMER",
        ObjectStoragePath(f"file://{tmp_path}"),
    )
    staged = write_frames(
        folder, "extract_bc", [pd.DataFrame({"id": ["a", "b"]}), pd.DataFrame({"id": ["c"]})]
    )
    assert staged.rows == 3
    assert len(list(ObjectStoragePath(staged.url).iterdir())) == 2
    assert read_frame(deserialize(serialize(staged)))["id"].tolist() == ["a", "b", "c"]


def test_rewriting_a_step_replaces_the_earlier_attempts_parts(tmp_path):
    folder = ObjectStoragePath(f"file://{tmp_path}")
    write_frames(folder, "extract_bc", [pd.DataFrame({"id": ["old1"]}), pd.DataFrame({"id": ["old2"]})])
    staged = write_frames(folder, "extract_bc", [pd.DataFrame({"id": ["new"]})])
    assert read_frame(staged)["id"].tolist() == ["new"]


def test_payloads_with_varying_fields_survive_the_round_trip(tmp_path):
    plan = pd.DataFrame({"source_id": ["a", "b"], "payload": [{"name": "O'Brien & Co", "n": 1.5}, None]})
    staged = write_frame(ObjectStoragePath(f"file://{tmp_path}"), "plan", plan)
    assert read_frame(staged)["payload"].tolist() == [{"name": "O'Brien & Co", "n": 1.5}, None]


def test_an_empty_step_reads_back_as_an_empty_frame(tmp_path):
    staged = write_frames(ObjectStoragePath(f"file://{tmp_path}"), "destination", [])
    assert staged.rows == 0 and read_frame(staged).empty


def test_a_range_reads_only_its_rows_and_an_empty_range_keeps_the_columns(tmp_path):
    folder = ObjectStoragePath(f"file://{tmp_path}")
    parts = [pd.DataFrame({"id": ["a", "b"]}), pd.DataFrame({"id": ["c", "d"]}), pd.DataFrame({"id": ["e"]})]
    staged = write_frames(folder, "plan", parts)
    assert read_rows(staged, 1, 4)["id"].tolist() == ["b", "c", "d"]
    assert read_rows(staged, 4, 5)["id"].tolist() == ["e"]
    empty = read_rows(write_frame(folder, "empty", pd.DataFrame({"id": pd.Series(dtype=object)})), 0, 0)
    assert empty.empty and list(empty.columns) == ["id"]
    assert list(read_rows(staged, 5, 5).columns) == ["id"]


def test_a_projection_reads_only_the_columns_asked_for_that_the_parts_have(tmp_path):
    folder = ObjectStoragePath(f"file://{tmp_path}")
    parts = [
        pd.DataFrame({"id": ["a"], "name": ["A"], "city": ["X"]}),
        pd.DataFrame({"id": ["b"], "name": ["B"]}),
    ]
    staged = write_frames(folder, "extract_bc", parts)
    narrow = read_frame(staged, ["id", "city", "_city_value"])
    assert list(narrow.columns) == ["id", "city"]
    assert narrow["id"].tolist() == ["a", "b"] and narrow["city"].tolist()[0] == "X"


def test_text_columns_are_staged_as_they_are_and_nested_values_as_json(tmp_path):
    frame = pd.DataFrame(
        {
            "name": pd.Series(["A", None], dtype=object),
            "nested": pd.Series([{"k": 1}, "plain"], dtype=object),
        }
    )
    staged = write_frame(ObjectStoragePath(f"file://{tmp_path}"), "extract_bc", frame)
    back = read_frame(staged)
    assert back["name"].tolist()[0] == "A" and pd.isna(back["name"].tolist()[1])
    assert back["nested"].tolist() == ['{"k": 1}', "plain"]
    assert frame["nested"].tolist()[0] == {"k": 1}  # the caller's frame is left as it was
