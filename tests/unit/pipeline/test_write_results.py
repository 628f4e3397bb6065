"""What a bulk write did, one row per written plan row, for the load to merge onto its plan."""

from __future__ import annotations

import pandas as pd
import pytest

from bcsync.pipeline.writing import results_frame, results_of
from bcsync.wire.errors import RecordRejected
from bcsync.wire.writes import WriteResult

ROWS = pd.DataFrame({"source_id": pd.Series(["s1", "s2", "s3"], dtype="str"), "payload": [{}, {}, {}]})


def test_each_row_gets_the_id_the_service_gave_else_the_one_sent_and_its_error() -> None:
    refused = RecordRejected("Name is required", status=400)
    outcomes = [WriteResult(index=0, id="AAAA-1"), WriteResult(index=1), WriteResult(index=2, error=refused)]

    frame = results_frame(ROWS, outcomes, ["chosen-1", "CHOSEN-2", None])

    assert frame.to_dict("records") == [
        {"source_id": "s1", "destination_id": "aaaa-1", "ok": True, "error": None},
        {"source_id": "s2", "destination_id": "chosen-2", "ok": True, "error": None},
        {"source_id": "s3", "destination_id": None, "ok": False, "error": str(refused)},
    ]
    assert results_of(ROWS, outcomes, ["chosen-1", "CHOSEN-2", None]) == frame.to_dict("records")


def test_outcomes_that_do_not_match_the_rows_one_to_one_are_refused() -> None:
    with pytest.raises(ValueError, match="2 outcomes and 3 ids for 3 rows"):
        results_frame(ROWS, [WriteResult(index=0), WriteResult(index=1)], ["a", "b", "c"])
