"""The pending-writes journal: a create is journalled before it is sent, closed once its outcome is known."""

from __future__ import annotations

import pandas as pd
import pytest

from bcsync.store import CouplingStore, Direction, StoreInputError

TO_CRM, FROM_CRM = Direction.TO_CRM, Direction.FROM_CRM


def test_journalled_creates_are_listed_until_confirmed(store: CouplingStore, new_ids) -> None:
    source, chosen = new_ids(2), new_ids(2)

    entries = store.record_pending(
        "CUSTOMER", TO_CRM, pd.DataFrame({"source_id": source, "destination_id": chosen})
    )

    assert entries.set_index("source_id").loc[source, "destination_id"].tolist() == chosen
    assert set(store.list_pending("CUSTOMER", TO_CRM)["state"]) == {"pending"}

    assert store.confirm("CUSTOMER", TO_CRM, source[:1]) == 1

    assert store.list_pending("CUSTOMER", TO_CRM)["source_id"].tolist() == source[1:]


def test_a_retry_gets_back_the_id_chosen_the_first_time(store: CouplingStore, new_ids) -> None:
    source, first, second = new_ids(1), new_ids(1), new_ids(1)
    store.record_pending("CUSTOMER", TO_CRM, [{"source_id": source[0], "destination_id": first[0]}])

    again = store.record_pending("CUSTOMER", TO_CRM, [{"source_id": source[0], "destination_id": second[0]}])

    assert again["destination_id"].tolist() == first
    assert len(store.list_pending("CUSTOMER", TO_CRM)) == 1


def test_bc_creates_are_journalled_with_a_marker_to_look_them_up_by(store: CouplingStore, new_ids) -> None:
    source = new_ids(1)

    store.record_pending(
        "CUSTOMER", FROM_CRM, [{"source_id": source[0], "marker": "CUST-000123"}], job_id=None
    )

    entry = store.list_pending("CUSTOMER", FROM_CRM).iloc[0]
    assert (entry["marker"], entry["destination_id"]) == ("CUST-000123", None)
    assert store.list_pending("CUSTOMER", TO_CRM).empty


def test_an_abandoned_create_can_be_journalled_afresh(store: CouplingStore, new_ids) -> None:
    source, first, second = new_ids(1), new_ids(1), new_ids(1)
    store.record_pending("CUSTOMER", TO_CRM, [{"source_id": source[0], "destination_id": first[0]}])

    assert store.abandon("CUSTOMER", TO_CRM, source) == 1
    assert store.list_pending("CUSTOMER", TO_CRM).empty

    entry = store.record_pending("CUSTOMER", TO_CRM, [{"source_id": source[0], "destination_id": second[0]}])
    assert entry["destination_id"].tolist() == second


def test_closing_an_entry_that_is_not_open_changes_nothing(store: CouplingStore, new_ids) -> None:
    source = new_ids(1)
    store.record_pending("CUSTOMER", TO_CRM, [{"source_id": source[0]}])
    store.confirm("CUSTOMER", TO_CRM, source)

    assert store.abandon("CUSTOMER", TO_CRM, source) == 0
    assert store.confirm("CUSTOMER", TO_CRM, source) == 0


def test_a_source_record_journalled_twice_in_one_call_is_refused(store: CouplingStore, new_ids) -> None:
    source = new_ids(1)
    with pytest.raises(StoreInputError, match="twice"):
        store.record_pending("CUSTOMER", TO_CRM, pd.DataFrame({"source_id": source * 2}))


def test_a_sender_can_ask_for_the_ids_only_and_still_gets_the_first_choice(
    store: CouplingStore, new_ids
) -> None:
    source, first, second = new_ids(2), new_ids(2), new_ids(2)
    store.record_pending("CUSTOMER", TO_CRM, [{"source_id": source[0], "destination_id": first[0]}])
    columns = ("source_id", "destination_id")

    entries = store.record_pending(
        "CUSTOMER",
        TO_CRM,
        pd.DataFrame({"source_id": source, "destination_id": second}),
        columns=columns,
    )

    assert list(entries.columns) == list(columns)
    assert entries.set_index("source_id").loc[source, "destination_id"].tolist() == [first[0], second[1]]
    with pytest.raises(StoreInputError, match="no column"):
        store.record_pending("CUSTOMER", TO_CRM, [{"source_id": new_ids(1)[0]}], columns=("nope",))


def test_entries_all_opened_by_the_call_come_back_as_the_journal_holds_them(
    store: CouplingStore, new_ids
) -> None:
    source, chosen = new_ids(3), new_ids(3)
    columns = ("source_id", "destination_id", "marker", "state")

    entries = store.record_pending(
        "CUSTOMER", TO_CRM, pd.DataFrame({"source_id": source, "destination_id": chosen}), columns=columns
    )

    journal = store.list_pending("CUSTOMER", TO_CRM)[list(columns)]
    assert entries.to_dict("records") == journal.to_dict("records")
    assert entries["destination_id"].tolist() == chosen
