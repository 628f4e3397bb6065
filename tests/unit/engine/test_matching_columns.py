"""Columnar match-based coupling couples exactly as the record-by-record version did, on random frames.

Values collide on purpose: case and whitespace variants, "Straße" next to "STRASSE" (case-folded
equal), phone numbers as text and as numbers, blanks of every kind (the zero GUID too), ambiguous and
already-coupled candidates, several records wanting the same candidate, and the same source id twice.
"""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest
from random_columns import as_column
from rowwise_reference import match_records_rowwise

from bcsync.engine.matching import MatchField, match_records, matched_rows
from bcsync.engine.model import DESTINATION_ID, SOURCE_ID

POOLS: dict[str, list[Any]] = {
    "name": [
        "Contoso",
        "contoso",
        " CONTOSO ",
        "Fabrikam",
        "Straße",
        "STRASSE",
        "strasse",
        "",
        "00000000-0000-0000-0000-000000000000",  # the zero GUID is blank, as BC's empty GUID
        None,
        float("nan"),
    ],
    "phone": ["555-0100", "5550100", 5550100, 5550100.0, "555-0199", None, "  "],
    "city": ["Atlanta", "atlanta", "Boston", None, pd.NA],
}
DESTINATION = {"name": "name", "phone": "telephone1", "city": "address1_city"}


def _case(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, list[list[MatchField]], set[str]]:
    rng = random.Random(seed)
    groups = [
        [
            MatchField(field, DESTINATION[field], case_sensitive=rng.random() < 0.2)
            for field in rng.sample(sorted(POOLS), rng.randint(1, 2))
        ]
        for _ in range(rng.randint(0, 3))
    ]
    size, offered = rng.randint(0, 16), rng.randint(0, 16)
    ids = [f"c{i}" for i in range(size)]
    if size > 1 and rng.random() < 0.15:
        ids[rng.randrange(1, size)] = ids[0]
    source = pd.DataFrame({SOURCE_ID: ids})
    for field, pool in POOLS.items():
        if rng.random() < 0.95:
            source[field] = as_column(rng, [rng.choice(pool) for _ in ids])
    candidates = pd.DataFrame({DESTINATION_ID: [f"a{i}" for i in range(offered)]})
    for field, pool in POOLS.items():
        if rng.random() < 0.95:
            candidates[DESTINATION[field]] = as_column(rng, [rng.choice(pool) for _ in range(offered)])
    coupled = {f"a{i}" for i in range(offered) if rng.random() < 0.2}
    return source, candidates, groups, coupled


@pytest.mark.parametrize("block", range(4))
def test_columnar_matching_matches_the_record_by_record_matching(block):
    for seed in range(block * 150, block * 150 + 150):
        source, candidates, groups, coupled = _case(seed)
        expected = match_records_rowwise(source, candidates, groups, coupled)
        actual = match_records(source, candidates, groups, coupled)
        pd.testing.assert_frame_equal(actual, expected, obj=f"matches of seed {seed}")


@pytest.mark.parametrize("block", range(2))
def test_matched_rows_are_the_pairs_match_records_couples(block):
    for seed in range(block * 150, block * 150 + 150):
        source, candidates, groups, coupled = _case(seed)
        result = match_records(source, candidates, groups, coupled)
        pairs = result[result[DESTINATION_ID].notna()]
        # Given as a column of Arrow text, as the couple step reads the coupled ids from the store.
        listed = pd.Series(sorted(coupled), dtype="str")
        unique = source[SOURCE_ID].is_unique  # candidate ids are
        for ids_unique in (False, True) if unique else (False,):
            source_rows, candidate_rows = matched_rows(
                source, candidates, groups, listed, ids_unique=ids_unique
            )
            assert source_rows.tolist() == pairs.index.tolist(), f"seed {seed}"
            assert candidates[DESTINATION_ID].take(candidate_rows).tolist() == pairs[DESTINATION_ID].tolist()
