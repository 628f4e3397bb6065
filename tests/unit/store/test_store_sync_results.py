"""A pass's outcomes on the couplings: BC's last-synch fields, "failed last time", Skipped and Restore."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from bcsync.store import CouplingStore, Direction, StoreInputError

TO_CRM, FROM_CRM = Direction.TO_CRM, Direction.FROM_CRM
T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
NewIds = Callable[[int], list[str]]


@pytest.fixture
def coupled(store: CouplingStore, new_ids: NewIds) -> tuple[list[str], list[str]]:
    bc, crm = new_ids(3), new_ids(3)
    store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": crm}))
    return bc, crm


def fail(store: CouplingStore, bc_ids: list[str], message: str, **options) -> object:
    frame = pd.DataFrame({"bc_id": bc_ids, "result": "Failure", "message": message})
    return store.record_sync_results("CUSTOMER", TO_CRM, frame, job_id=str(uuid.uuid4()), **options)


def succeed(store: CouplingStore, bc_ids: list[str], bc_modified: datetime, crm_modified: datetime) -> object:
    frame = pd.DataFrame(
        {"bc_id": bc_ids, "result": "Success", "bc_modified_on": bc_modified, "crm_modified_on": crm_modified}
    )
    return store.record_sync_results("CUSTOMER", TO_CRM, frame, job_id=str(uuid.uuid4()))


def coupling(store: CouplingStore, bc_id: str) -> pd.Series:
    return store.couplings_for("CUSTOMER", bc_ids=[bc_id]).iloc[0]


def test_a_success_records_result_job_and_both_modified_on_values(store: CouplingStore, coupled) -> None:
    bc, _ = coupled
    job = str(uuid.uuid4())
    frame = pd.DataFrame(
        {
            "bc_id": bc[:1],
            "result": ["Success"],
            "bc_modified_on": [T0],
            "crm_modified_on": [T0 + timedelta(1)],
        }
    )

    recorded = store.record_sync_results("CUSTOMER", "ToIntegrationTable", frame, job_id=job)

    assert (recorded.succeeded, recorded.failed) == (1, 0)
    row = coupling(store, bc[0])
    assert (row["to_crm_result"], row["to_crm_job_id"]) == ("Success", job)
    assert (row["bc_synced_on"], row["crm_synced_on"]) == (T0, T0 + timedelta(1))
    assert pd.isna(row["from_crm_result"])  # the other direction's "Last Synch. Result" is untouched


def test_the_from_direction_is_keyed_by_crm_id_and_writes_its_own_fields(
    store: CouplingStore, coupled
) -> None:
    bc, crm = coupled
    frame = pd.DataFrame({"crm_id": crm[:1], "result": ["Failure"], "message": ["Customer is blocked"]})

    store.record_sync_results("CUSTOMER", FROM_CRM, frame, job_id=str(uuid.uuid4()))

    row = coupling(store, bc[0])
    assert (row["from_crm_result"], row["from_crm_failures"]) == ("Failure", 1)
    assert pd.isna(row["to_crm_result"])


def test_synced_timestamps_are_only_moved_forward(store: CouplingStore, coupled) -> None:
    bc, _ = coupled
    succeed(store, bc[:1], T0, T0)

    succeed(store, bc[:1], T0 - timedelta(seconds=5), T0 + timedelta(seconds=5))

    row = coupling(store, bc[0])
    assert (row["bc_synced_on"], row["crm_synced_on"]) == (T0, T0 + timedelta(seconds=5))


def test_the_same_error_twice_in_a_row_marks_the_coupling_skipped(store: CouplingStore, coupled) -> None:
    bc, crm = coupled

    first = fail(store, bc[:1], "Currency EUR must be coupled to a record in Dynamics 365 Sales.")
    assert first.newly_skipped.empty
    assert not coupling(store, bc[0])["skipped"]

    second = fail(store, bc[:1], "Currency EUR must be coupled to a record in Dynamics 365 Sales.")

    assert second.newly_skipped[["bc_id", "crm_id"]].values.tolist() == [[bc[0], crm[0]]]
    row = coupling(store, bc[0])
    assert (row["skipped"], row["to_crm_failures"]) == (True, 2)
    assert store.skipped("CUSTOMER")["bc_id"].tolist() == bc[:1]


def test_the_skip_threshold_is_the_callers_choice(store: CouplingStore, coupled) -> None:
    bc, _ = coupled
    fail(store, bc[:1], "Boom", skip_after=3)
    fail(store, bc[:1], "Boom", skip_after=3)
    assert not coupling(store, bc[0])["skipped"]

    third = fail(store, bc[:1], "Boom", skip_after=3)

    assert third.newly_skipped["bc_id"].tolist() == bc[:1]


def test_a_different_error_restarts_the_count(store: CouplingStore, coupled) -> None:
    bc, _ = coupled
    fail(store, bc[:1], "Boom")

    fail(store, bc[:1], "Another problem")

    row = coupling(store, bc[0])
    assert (row["skipped"], row["to_crm_failures"]) == (False, 1)


def test_blank_messages_never_count_as_the_same_error(store: CouplingStore, coupled) -> None:
    bc, _ = coupled
    fail(store, bc[:1], "")
    fail(store, bc[:1], "")

    assert not coupling(store, bc[0])["skipped"]


def test_records_sharing_a_message_in_one_call_each_keep_their_own_count(
    store: CouplingStore, coupled
) -> None:
    bc, _ = coupled
    fail(store, bc[:2], "Boom")
    frame = pd.DataFrame({"bc_id": bc, "result": "Failure", "message": ["Boom", None, "Boom"]})

    second = store.record_sync_results("CUSTOMER", TO_CRM, frame, job_id=str(uuid.uuid4()))

    assert second.newly_skipped["bc_id"].tolist() == bc[:1]  # bc[1] failed without a message
    assert [coupling(store, i)["to_crm_failures"] for i in bc] == [2, 1, 1]


def test_a_success_resets_the_count_and_resolves_the_records_open_errors(
    store: CouplingStore, coupled
) -> None:
    bc, crm = coupled
    fail(store, bc[:2], "Boom")
    store.add_record_errors(
        [
            {"mapping": "CUSTOMER", "direction": "ToIntegrationTable", "bc_id": bc[0], "message": "Boom"},
            {"mapping": "CUSTOMER", "direction": "ToIntegrationTable", "bc_id": bc[1], "message": "Boom"},
            {
                "mapping": "CUSTOMER",
                "direction": "FromIntegrationTable",
                "crm_id": crm[0],
                "message": "Other",
            },
        ]
    )

    succeed(store, bc[:1], T0, T0)
    fail(store, bc[:1], "Boom")

    assert (coupling(store, bc[0])["to_crm_failures"], coupling(store, bc[0])["skipped"]) == (1, False)
    still_open = store.open_errors("CUSTOMER")
    assert sorted(zip(still_open["direction"], still_open["message"], strict=True)) == [
        ("FromIntegrationTable", "Other"),  # a To success does not resolve a From error
        ("ToIntegrationTable", "Boom"),  # bc[1] never succeeded
    ]


def test_a_failure_in_one_direction_leaves_a_skip_set_by_the_other(store: CouplingStore, coupled) -> None:
    bc, crm = coupled
    fail(store, bc[:1], "Boom")
    fail(store, bc[:1], "Boom")

    store.record_sync_results(
        "CUSTOMER", FROM_CRM, pd.DataFrame({"crm_id": crm[:1], "result": "Failure", "message": "Else"})
    )

    assert coupling(store, bc[0])["skipped"]


def test_a_record_newly_skipped_is_reported_once(store: CouplingStore, coupled) -> None:
    bc, _ = coupled
    fail(store, bc[:1], "Boom")
    fail(store, bc[:1], "Boom")

    third = fail(store, bc[:1], "Boom")

    assert third.newly_skipped.empty


def test_failed_last_time_lists_failures_that_are_not_skipped(store: CouplingStore, coupled) -> None:
    bc, crm = coupled
    fail(store, bc[:2], "Boom")
    fail(store, bc[1:2], "Boom")  # skipped now
    succeed(store, bc[2:], T0, T0)

    retried = store.failed_last_time("CUSTOMER", TO_CRM)

    assert retried[["bc_id", "crm_id"]].values.tolist() == [[bc[0], crm[0]]]
    assert store.failed_last_time("CUSTOMER", FROM_CRM).empty


def test_restore_clears_skipped_and_the_record_is_retried_next_run(store: CouplingStore, coupled) -> None:
    bc, _ = coupled
    for _ in range(2):
        fail(store, bc[:2], "Boom")

    restored = store.restore_skipped("CUSTOMER", bc_ids=bc[:1])

    assert restored == 1
    assert store.skipped("CUSTOMER")["bc_id"].tolist() == bc[1:2]
    assert store.failed_last_time("CUSTOMER", TO_CRM)["bc_id"].tolist() == bc[:1]
    # As in BC, the result is still Failure: the same error once more skips it again at once.
    assert not fail(store, bc[:1], "Boom").newly_skipped.empty


def test_restore_without_ids_restores_every_skipped_coupling_of_the_mapping(
    store: CouplingStore, coupled
) -> None:
    bc, _ = coupled
    for _ in range(2):
        fail(store, bc, "Boom")

    assert store.restore_skipped("CUSTOMER") == 3
    assert store.skipped("CUSTOMER").empty


def test_results_for_uncoupled_records_only_count_as_not_coupled(
    store: CouplingStore, coupled, new_ids: NewIds
) -> None:
    recorded = fail(store, new_ids(2), "Insert failed")

    assert (recorded.failed, recorded.not_coupled) == (0, 2)
    assert store.failed_last_time("CUSTOMER", TO_CRM).empty


def test_unconditional_full_sync_forgets_the_source_sides_synced_timestamps(
    store: CouplingStore, coupled
) -> None:
    bc, _ = coupled
    succeed(store, bc, T0, T0)

    assert store.clear_synced_on("CUSTOMER", TO_CRM) == 3

    stored = store.couplings("CUSTOMER")
    assert stored["bc_synced_on"].isna().all()
    assert (stored["crm_synced_on"] == T0).all()


@pytest.mark.parametrize(
    ("frame", "complaint"),
    [
        (pd.DataFrame({"crm_id": ["6f9619ff-8b86-d011-b42d-00c04fc964ff"], "result": ["Success"]}), "bc_id"),
        (pd.DataFrame({"bc_id": ["6f9619ff-8b86-d011-b42d-00c04fc964ff"], "result": ["Done"]}), "result"),
        (
            pd.DataFrame({"bc_id": ["6f9619ff-8b86-d011-b42d-00c04fc964ff"] * 2, "result": ["Success"] * 2}),
            "twice",
        ),
    ],
)
def test_malformed_results_are_refused(store: CouplingStore, frame: pd.DataFrame, complaint: str) -> None:
    with pytest.raises(StoreInputError, match=complaint):
        store.record_sync_results("CUSTOMER", TO_CRM, frame)


def test_an_unknown_direction_is_refused(store: CouplingStore) -> None:
    with pytest.raises(StoreInputError, match="direction"):
        store.failed_last_time("CUSTOMER", "Sideways")


def _created(bc: list[str], crm: list[str], bc_modified: datetime, crm_modified: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bc_id": bc,
            "crm_id": crm,
            "bc_synced_on": pd.Series([bc_modified] * len(bc), dtype="datetime64[us, UTC]"),
            "crm_synced_on": pd.Series([crm_modified] * len(bc), dtype="datetime64[us, UTC]"),
        }
    )


def _state(store: CouplingStore, bc_ids: list[str]) -> pd.DataFrame:
    kept = ["bc_id", "crm_id", "bc_synced_on", "crm_synced_on", "to_crm_result", "to_crm_job_id"]
    kept += ["to_crm_error_hash", "to_crm_failures", "skipped", "coupled_by"]
    return store.couplings_for("CUSTOMER", bc_ids=bc_ids)[kept].sort_values("bc_id", ignore_index=True)


@pytest.mark.parametrize("coupled_before", [False, True], ids=["new pairs", "a retry: coupled already"])
def test_couple_created_is_couple_then_a_success_each(
    store_url: str, clock, new_ids: NewIds, coupled_before: bool
) -> None:
    """The load's one call for the records it created leaves what couple + record_sync_results left:
    the same couplings, results and modified-on, and the records' earlier errors closed."""
    bc, crm = new_ids(3), new_ids(3)
    job = str(uuid.uuid4())
    created = _created(bc, crm, T0, T0 + timedelta(seconds=1))
    states = []
    for name, one_call in (("one.db", True), ("two.db", False)):
        store = CouplingStore(store_url.replace("store.db", name), clock=clock)
        if coupled_before:  # an earlier try coupled them, then died before recording results
            store.couple("CUSTOMER", created[["bc_id", "crm_id"]], coupled_by="create")
        store.add_record_errors(
            pd.DataFrame({"mapping": "CUSTOMER", "direction": TO_CRM.value, "bc_id": bc, "message": "bad"})
        )
        if one_call:
            store.couple_created("CUSTOMER", TO_CRM, created, job_id=job)
        else:
            store.couple("CUSTOMER", created[["bc_id", "crm_id"]], coupled_by="create")
            results = created.rename(
                columns={"bc_synced_on": "bc_modified_on", "crm_synced_on": "crm_modified_on"}
            )
            store.record_sync_results(
                "CUSTOMER", TO_CRM, results.drop(columns="crm_id").assign(result="Success"), job_id=job
            )
        assert store.open_errors("CUSTOMER").empty
        states.append(_state(store, bc))
        store.dispose()

    pd.testing.assert_frame_equal(states[0], states[1])
    assert (states[0]["to_crm_result"] == "Success").all() and (states[0]["to_crm_job_id"] == job).all()
    assert (states[0]["crm_synced_on"] == T0 + timedelta(seconds=1)).all()
