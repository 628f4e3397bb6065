"""KeyIndex finds ids as a dict keyed by them would, whether the ids are Arrow text or Python objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_planner import spec

from bcsync.engine.keys import KeyIndex
from bcsync.engine.model import DESTINATION_ID, SOURCE_ID
from bcsync.engine.planner import plan_pass
from bcsync.engine.values import is_arrow_text

KEYS = ["a", "b", "c", "d"]
WANTED = ["c", "x", "a", "d", None, "b"]
AS_DICT = [2, -1, 0, 3, -1, 1]  # {key: row}.get(wanted, -1)


@pytest.mark.parametrize("keys_dtype", ["str", object])
@pytest.mark.parametrize("wanted_dtype", ["str", object])
def test_positions_are_the_rows_a_dict_of_the_keys_gives(keys_dtype, wanted_dtype):
    keys = pd.Series(KEYS, dtype=keys_dtype)
    wanted = pd.Series(WANTED, dtype=wanted_dtype)
    index = KeyIndex(keys)
    assert index.is_unique
    assert index.positions(wanted).tolist() == AS_DICT


def test_arrow_text_ids_are_looked_up_in_arrow():
    keys, wanted = pd.Series(KEYS), pd.Series(WANTED)
    assert is_arrow_text(keys.dtype) and is_arrow_text(wanted.dtype)
    positions = KeyIndex(keys).positions(wanted)
    assert positions.dtype == np.intp
    assert positions.tolist() == AS_DICT


@pytest.mark.parametrize("dtype", ["str", object])
def test_an_id_that_appears_twice_is_not_unique_and_is_named(dtype):
    index = KeyIndex(pd.Series(["a", "b", "a"], dtype=dtype))
    assert not index.is_unique
    assert index.duplicate() == "a"


@pytest.mark.parametrize("dtype", ["str", object])
def test_planner_refuses_couplings_whose_source_id_appears_twice(dtype):
    source = pd.DataFrame({SOURCE_ID: pd.Series(["s1"], dtype=dtype)})
    couplings = pd.DataFrame({SOURCE_ID: pd.Series(["s1", "s1"], dtype=dtype), DESTINATION_ID: ["d1", "d2"]})
    with pytest.raises(ValueError, match="source_id must be unique: 's1' appears twice"):
        plan_pass(spec(), source, couplings, pd.DataFrame({DESTINATION_ID: ["d1"]}))
