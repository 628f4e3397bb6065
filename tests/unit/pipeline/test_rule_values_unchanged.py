"""A modify whose values — a mapping's or a table rule's — the destination already holds is Unchanged."""

from __future__ import annotations

import pandas as pd

from bcsync.pipeline.transform import without_unchanged_values

LINE = "0f9a3b52-8f1e-4d8e-9d5f-0c2a7b1e6d40"
PRODUCT = "5B3C2A10-7D4E-4F5A-8B6C-9D0E1F2A3B4C"


def plan(payload: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_id": ["s1"],
            "destination_id": [LINE],
            "action": ["modify"],
            "payload": [payload],
            "error": [None],
        }
    )


DESTINATION = pd.DataFrame(
    {"destination_id": [LINE], "baseamount": [1834.7], "productid": [PRODUCT.lower()], "tax": [0.0]}
)


def test_values_the_destination_holds_are_left_out_and_nothing_left_is_unchanged():
    # The rule rewrote baseamount to what Sales holds; the GUID differs only in case, 0 and 0.0 alike.
    result = without_unchanged_values(
        plan({"baseamount": 1834.70, "productid": PRODUCT, "tax": 0}), DESTINATION
    )
    assert result.at[0, "action"] == "unchanged" and result.at[0, "payload"] is None


def test_a_value_that_differs_is_kept_with_only_what_differs():
    result = without_unchanged_values(
        plan({"baseamount": 1900.0, "tax": 0, "exchangerate": 1.0}), DESTINATION
    )
    assert result.at[0, "action"] == "modify"
    # exchangerate was not read from the destination: it cannot be known unchanged, so it is written.
    assert result.at[0, "payload"] == {"baseamount": 1900.0, "exchangerate": 1.0}
