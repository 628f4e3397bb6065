"""Dataverse creates are sent with the ids their journal entries hold, record by record."""

from __future__ import annotations

import pandas as pd
import pytest

from bcsync.pipeline.write_crm import journalled_ids


def test_each_source_record_gets_its_journalled_id_in_the_order_of_the_writes() -> None:
    # The journal's order is the store's; an entry opened by an earlier try keeps its first id.
    journal = pd.DataFrame(
        {"source_id": pd.Series(["s2", "s3", "s1"], dtype="str"), "destination_id": ["d2", "d3", "first-d1"]}
    )

    ids = journalled_ids(journal, pd.Series(["s1", "s2", "s3"], dtype="str"))

    assert ids == ["first-d1", "d2", "d3"]


def test_a_source_record_without_an_entry_stops_the_write() -> None:
    journal = pd.DataFrame({"source_id": ["s1"], "destination_id": ["d1"]})

    with pytest.raises(RuntimeError, match="s9 has no open journal entry"):
        journalled_ids(journal, pd.Series(["s1", "s9"]))
