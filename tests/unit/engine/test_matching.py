"""Match-based coupling as BC's "CDS Int. Table Couple" does it."""

import pandas as pd

from bcsync.engine.matching import MatchField, match_records
from bcsync.engine.model import DESTINATION_ID, SOURCE_ID

BY_NAME = [MatchField("displayName", "name")]
BY_PHONE = [MatchField("phoneNumber", "telephone1")]


def customers(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        [{SOURCE_ID: sid, "displayName": name, "phoneNumber": phone} for sid, name, phone in rows]
    )


def accounts(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        [{DESTINATION_ID: aid, "name": name, "telephone1": phone} for aid, name, phone in rows]
    )


def matched(result: pd.DataFrame) -> dict:
    return dict(zip(result[SOURCE_ID], result[DESTINATION_ID], strict=True))


def test_unique_match_is_coupled_case_insensitively():
    result = match_records(
        customers(("c1", "O'Brien & Co", "")), accounts(("a1", "o'brien & co ", "")), [BY_NAME]
    )
    assert matched(result) == {"c1": "a1"}


def test_ambiguous_match_is_not_coupled():
    result = match_records(
        customers(("c1", "Fabrikam", "")), accounts(("a1", "Fabrikam", ""), ("a2", "FABRIKAM", "")), [BY_NAME]
    )
    assert matched(result) == {"c1": None}
    assert result["reason"][0].startswith("2 matches")


def test_the_only_match_already_coupled_is_not_coupled_again():
    result = match_records(
        customers(("c1", "Fabrikam", "")), accounts(("a1", "Fabrikam", "")), [BY_NAME], {"a1"}
    )
    assert matched(result) == {"c1": None}


def test_next_priority_group_is_tried_when_the_first_finds_nothing_unique():
    result = match_records(
        customers(("c1", "Fabrikam", "555-0100")),
        accounts(("a1", "Fabrikam", "555-0100"), ("a2", "Fabrikam", "555-0199")),
        [BY_NAME, BY_PHONE],
    )
    assert matched(result) == {"c1": "a1"}


def test_blank_values_are_not_used_as_criteria():
    result = match_records(customers(("c1", "", "")), accounts(("a1", "", "")), [BY_NAME])
    assert matched(result) == {"c1": None}


def test_a_candidate_is_coupled_at_most_once_first_source_wins():
    result = match_records(
        customers(("c1", "Contoso", ""), ("c2", "Contoso", "")), accounts(("a1", "Contoso", "")), [BY_NAME]
    )
    assert matched(result) == {"c1": "a1", "c2": None}


def test_case_sensitive_matching_when_asked():
    result = match_records(
        customers(("c1", "contoso", "")),
        accounts(("a1", "Contoso", "")),
        [[MatchField("displayName", "name", True)]],
    )
    assert matched(result) == {"c1": None}
