"""The custom API page's extra fields joined to each standard page by id, as a left join would."""

import pandas as pd

from bcsync.pipeline.reading import _Extension


def test_each_page_takes_its_rows_by_id_as_a_left_join_does():
    fields = pd.DataFrame({"id": ["a", "b", "c"], "faxNo": ["1", None, "3"], "contact": ["x", "y", "z"]})
    page = pd.DataFrame({"id": ["c", "zz", "a"], "displayName": ["C", "?", "A"]})
    joined = _Extension(fields, "id").joined(page)
    pd.testing.assert_frame_equal(joined, page.merge(fields, on="id", how="left"))
    assert joined["contact"].tolist()[0] == "z" and pd.isna(joined["contact"].tolist()[1])


def test_an_id_listed_twice_gives_the_joins_rows():
    fields = pd.DataFrame({"id": ["a", "a"], "faxNo": ["1", "2"]})
    page = pd.DataFrame({"id": ["a"], "displayName": ["A"]})
    assert _Extension(fields, "id").joined(page)["faxNo"].tolist() == ["1", "2"]
