"""Text lengths count UTF-16 code units, as both services do (.NET strings, SQL nvarchar): an emoji
is two. Truncation never cuts a surrogate pair in half (half a pair is refused by both services); the
record-by-record and the columnar transform truncate alike."""

from __future__ import annotations

import pandas as pd
import pytest

from bcsync.engine.model import FieldRule
from bcsync.engine.transform import transfer, transfer_columns
from bcsync.engine.values import truncate, utf16_length

EMOJI = "\N{GRINNING FACE}"  # U+1F600: one code point, two UTF-16 code units


def test_an_emoji_counts_two_units():
    assert utf16_length(EMOJI) == 2
    assert utf16_length("Zürich") == 6
    assert utf16_length("a" + EMOJI + "b") == 4


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a" * 98 + EMOJI, 100, "a" * 98 + EMOJI),  # exactly 100 units: kept whole
        ("a" * 99 + EMOJI, 100, "a" * 99),  # 101 units: the emoji would be cut in half, so it goes
        ("a" * 98 + EMOJI + "b", 100, "a" * 98 + EMOJI),  # 101 units: the last letter goes
        (EMOJI * 60, 100, EMOJI * 50),  # 60 code points, 120 units
        ("abc", 3, "abc"),
    ],
)
def test_truncation_is_in_utf16_units_and_keeps_surrogate_pairs_whole(text, limit, expected):
    assert truncate(text, limit) == expected
    assert utf16_length(truncate(text, limit)) <= limit


def test_the_columnar_transform_truncates_as_the_record_transform_does():
    rule = FieldRule("name", "name", "Name", max_length=10)
    texts = ["a" * 8 + EMOJI, "a" * 9 + EMOJI, EMOJI * 6, "short", "a" * 4 + EMOJI * 3 + "b"]
    by_record = [transfer((rule,), {"name": text}, {}, "BC").values["name"] for text in texts]
    assert by_record == ["a" * 8 + EMOJI, "a" * 9, EMOJI * 5, "short", "a" * 4 + EMOJI * 3]
    columns = transfer_columns((rule,), pd.DataFrame({"name": texts}), {}, "BC")
    assert list(columns.values["name"]) == by_record
