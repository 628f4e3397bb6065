"""`one_transaction`: a load's store calls written together, committed or rolled back as a whole."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pandas as pd
import pytest

from bcsync.store import CouplingStore, Direction, StoreInputError

NewIds = Callable[[int], list[str]]
TO_CRM = Direction.TO_CRM


def test_calls_inside_see_each_others_writes_and_are_committed_together(
    store: CouplingStore, store_url: str, new_ids: NewIds
) -> None:
    bc, crm = new_ids(2), new_ids(2)
    other = CouplingStore(store_url)
    assert other.couplings("CUSTOMER").empty  # its migration check done before the block begins
    seen_outside = []

    with store.one_transaction():
        store.record_pending("CUSTOMER", TO_CRM, pd.DataFrame({"source_id": bc, "destination_id": crm}))
        store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": crm}), coupled_by="create")
        store.confirm("CUSTOMER", TO_CRM, bc)
        inside = store.record_sync_results(
            "CUSTOMER", TO_CRM, pd.DataFrame({"bc_id": bc, "result": ["Success", "Failure"]})
        )
        store.add_record_errors(
            [{"mapping": "CUSTOMER", "direction": TO_CRM, "bc_id": bc[1], "message": "No"}]
        )
        # Another connection reads the last committed state: none of the block's writes yet.
        seen_outside.append(len(other.couplings("CUSTOMER")))

    assert (inside.succeeded, inside.failed) == (1, 1)
    assert seen_outside == [0]
    assert sorted(other.couplings("CUSTOMER")["bc_id"]) == sorted(bc)
    assert other.list_pending("CUSTOMER", TO_CRM).empty
    assert other.open_errors("CUSTOMER")["bc_id"].tolist() == bc[1:]
    other.dispose()


def test_a_failing_call_rolls_back_the_whole_block(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(1), new_ids(1)
    store.record_pending("CUSTOMER", TO_CRM, pd.DataFrame({"source_id": bc, "destination_id": crm}))

    with pytest.raises(StoreInputError), store.one_transaction():
        store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": crm}), coupled_by="create")
        store.confirm("CUSTOMER", TO_CRM, bc)
        store.add_record_errors([{"mapping": "CUSTOMER", "direction": TO_CRM, "message": None}])

    assert store.couplings("CUSTOMER").empty
    assert store.list_pending("CUSTOMER", TO_CRM)["source_id"].tolist() == bc
    # The store is usable again: the next call has a transaction of its own.
    store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": crm}))
    assert len(store.couplings("CUSTOMER")) == 1


def test_nested_blocks_join_and_other_threads_keep_their_own_transactions(
    store: CouplingStore, new_ids: NewIds
) -> None:
    bc, crm = new_ids(1), new_ids(1)
    seen_by_thread = []

    with store.one_transaction():
        with store.one_transaction():
            store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": crm}))
        assert len(store.couplings("CUSTOMER")) == 1  # the inner block did not end the transaction
        reader = threading.Thread(target=lambda: seen_by_thread.append(len(store.couplings("CUSTOMER"))))
        reader.start()
        reader.join()

    assert seen_by_thread == [0]
    assert len(store.couplings("CUSTOMER")) == 1
