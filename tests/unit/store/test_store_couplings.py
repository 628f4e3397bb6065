"""Couplings are one-to-one per mapping: coupling, refusing clashes, re-coupling and uncoupling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import pytest

from bcsync.store import CoupledBy, CouplingStore, StoreInputError

NewIds = Callable[[int], list[str]]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def pairs(bc_ids: list[str], crm_ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"bc_id": bc_ids, "crm_id": crm_ids})


def test_coupling_new_pairs_stores_them_with_how_and_when(
    store: CouplingStore, new_ids: NewIds, clock
) -> None:
    bc, crm = new_ids(3), new_ids(3)

    outcome = store.couple("CUSTOMER", pairs(bc, crm), coupled_by=CoupledBy.CREATE)

    assert (outcome.coupled, outcome.already_coupled, outcome.conflicts.empty) == (3, 0, True)
    stored = store.couplings("CUSTOMER").set_index("bc_id")
    assert stored.loc[bc, "crm_id"].tolist() == crm
    assert set(stored["coupled_by"]) == {"create"}
    assert (stored["created_on"] == clock.now).all()
    assert not stored["skipped"].any()
    assert stored["to_crm_result"].isna().all() and stored["from_crm_result"].isna().all()


def test_couplings_are_kept_per_mapping(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(1), new_ids(1)
    store.couple("CUSTOMER", pairs(bc, crm))

    assert store.couplings("CONTACT").empty
    assert store.couple("CONTACT", pairs(bc, crm)).coupled == 1


def test_coupling_the_same_pair_again_changes_nothing(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(2), new_ids(2)
    store.couple("CUSTOMER", pairs(bc, crm))

    outcome = store.couple("CUSTOMER", pairs(bc, crm))

    assert (outcome.coupled, outcome.already_coupled, len(outcome.conflicts)) == (0, 2, 0)
    assert len(store.couplings("CUSTOMER")) == 2


def test_a_bc_record_already_coupled_elsewhere_is_refused(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(1), new_ids(2)
    store.couple("CUSTOMER", pairs(bc, crm[:1]))

    outcome = store.couple("CUSTOMER", pairs(bc, crm[1:]))

    assert outcome.coupled == 0
    conflict = outcome.conflicts.iloc[0]
    assert (conflict["bc_id"], conflict["crm_id"], conflict["reason"]) == (
        bc[0],
        crm[1],
        "bc_id_already_coupled",
    )
    assert conflict["coupled_crm_id"] == crm[0]
    assert store.couplings("CUSTOMER")["crm_id"].tolist() == crm[:1]


def test_a_crm_record_already_coupled_elsewhere_is_refused(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(2), new_ids(1)
    store.couple("CUSTOMER", pairs(bc[:1], crm))

    outcome = store.couple("CUSTOMER", pairs(bc[1:], crm))

    conflict = outcome.conflicts.iloc[0]
    assert (conflict["reason"], conflict["coupled_bc_id"]) == ("crm_id_already_coupled", bc[0])
    assert store.couplings_for("CUSTOMER", bc_ids=bc[1:]).empty


def test_clashing_pairs_are_refused_while_the_rest_of_the_batch_is_coupled(
    store: CouplingStore, new_ids: NewIds
) -> None:
    bc, crm = new_ids(3), new_ids(3)
    store.couple("CUSTOMER", pairs(bc[:1], crm[:1]))

    outcome = store.couple("CUSTOMER", pairs([bc[0], bc[1], bc[2]], [crm[1], crm[0], crm[2]]))

    assert outcome.coupled == 1
    assert sorted(outcome.conflicts["reason"]) == ["bc_id_already_coupled", "crm_id_already_coupled"]
    assert store.couplings_for("CUSTOMER", bc_ids=[bc[2]])["crm_id"].tolist() == [crm[2]]


def test_a_request_naming_one_record_twice_is_refused_for_both_pairs(
    store: CouplingStore, new_ids: NewIds
) -> None:
    bc, crm = new_ids(2), new_ids(3)

    outcome = store.couple("CUSTOMER", pairs([bc[0], bc[0], bc[1]], crm))

    assert outcome.coupled == 1
    assert outcome.conflicts["reason"].tolist() == ["duplicate_in_request"] * 2
    assert store.couplings("CUSTOMER")["bc_id"].tolist() == [bc[1]]


def test_replace_moves_the_coupling_as_bc_recoupling_does(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(2), new_ids(2)
    store.couple("CUSTOMER", pairs(bc, crm))

    outcome = store.couple("CUSTOMER", pairs(bc[:1], crm[1:]), coupled_by="manual", replace=True)

    assert (outcome.coupled, outcome.replaced, outcome.conflicts.empty) == (1, 2, True)
    stored = store.couplings("CUSTOMER")
    assert stored[["bc_id", "crm_id", "coupled_by"]].values.tolist() == [[bc[0], crm[1], "manual"]]


def test_uncouple_by_either_side(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(3), new_ids(3)
    store.couple("CUSTOMER", pairs(bc, crm))

    removed = store.uncouple("CUSTOMER", bc_ids=bc[:1], crm_ids=crm[1:2])

    assert removed == 2
    assert store.couplings("CUSTOMER")["bc_id"].tolist() == bc[2:]
    assert store.uncouple("CUSTOMER", bc_ids=bc[:1]) == 0


def test_couplings_for_finds_rows_by_bc_or_crm_id(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(3), new_ids(3)
    store.couple("CUSTOMER", pairs(bc, crm))

    found = store.couplings_for("CUSTOMER", bc_ids=[bc[0]], crm_ids=[crm[0], crm[2]])

    assert sorted(found["bc_id"]) == sorted([bc[0], bc[2]])


def test_ids_are_stored_in_canonical_form(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(1), new_ids(1)

    store.couple("CUSTOMER", pairs(["{" + bc[0].upper() + "}"], [crm[0].upper()]))

    assert store.couplings_for("CUSTOMER", bc_ids=[bc[0].upper()])["crm_id"].tolist() == crm


def test_initial_synced_timestamps_can_be_given_when_coupling(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(1), new_ids(1)
    modified = datetime(2026, 2, 1, 10, 30, tzinfo=UTC)

    store.couple("CUSTOMER", pairs(bc, crm).assign(bc_synced_on=[modified], crm_synced_on=[None]))

    stored = store.couplings("CUSTOMER").iloc[0]
    assert stored["bc_synced_on"] == modified
    assert pd.isna(stored["crm_synced_on"])


@pytest.mark.parametrize(
    ("rows", "complaint"),
    [
        (
            pd.DataFrame({"bc_id": ["not-a-guid"], "crm_id": ["6f9619ff-8b86-d011-b42d-00c04fc964ff"]}),
            "bc_id",
        ),
        (pd.DataFrame({"bc_id": ["6f9619ff-8b86-d011-b42d-00c04fc964ff"]}), "missing column"),
        (
            pd.DataFrame(
                {
                    "bc_id": ["6f9619ff-8b86-d011-b42d-00c04fc964ff"],
                    "crm_id": ["6f9619ff-8b86-d011-b42d-00c04fc964fe"],
                    "bc_synced_on": [datetime(2026, 1, 1)],
                }
            ),
            "timezone-aware",
        ),
        (
            pd.DataFrame(
                {
                    "bc_id": ["6f9619ff-8b86-d011-b42d-00c04fc964ff"],
                    "crm_id": ["6f9619ff-8b86-d011-b42d-00c04fc964fe"],
                    "coupled_by": ["magic"],
                }
            ),
            "coupled_by",
        ),
    ],
)
def test_malformed_rows_are_refused_with_the_column_named(
    store: CouplingStore, rows: pd.DataFrame, complaint: str
) -> None:
    with pytest.raises(StoreInputError, match=complaint):
        store.couple("CUSTOMER", rows)
    assert store.couplings("CUSTOMER").empty


def test_a_blank_mapping_name_is_refused(store: CouplingStore) -> None:
    with pytest.raises(StoreInputError, match="mapping"):
        store.couplings(" ")


def test_couplings_of_records_the_sync_created_are_written_as_synced_by_the_job(
    store: CouplingStore, new_ids: NewIds
) -> None:
    bc, crm = new_ids(2), new_ids(2)
    created = datetime(2026, 2, 1, 10, 30, tzinfo=UTC)
    job_id = store.start_job("CUSTOMER", "ToIntegrationTable")

    store.couple(
        "CUSTOMER",
        pairs(bc, crm).assign(bc_synced_on=created, crm_synced_on=created),
        coupled_by=CoupledBy.CREATE,
        synced_direction="ToIntegrationTable",
        job_id=job_id,
    )

    stored = store.couplings("CUSTOMER")
    assert stored[["to_crm_result", "to_crm_job_id"]].values.tolist() == [["Success", job_id]] * 2
    assert stored["from_crm_result"].isna().all()
    assert (stored["crm_synced_on"] == created).all()


def test_keeping_couplings_in_step_moves_the_sales_side_forward_only(
    store: CouplingStore, new_ids: NewIds
) -> None:
    """BC's SetLastSynchCRMModifiedOn, after a write that changed none of the mapping's fields."""
    bc, crm = new_ids(3), new_ids(3)
    synced = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    store.couple("CUSTOMER", pairs(bc, crm).assign(bc_synced_on=synced, crm_synced_on=synced))
    later, earlier = datetime(2026, 3, 1, 9, 0, tzinfo=UTC), datetime(2026, 3, 1, 7, 0, tzinfo=UTC)

    moved = store.set_last_synch_crm_modified_on("CUSTOMER", {crm[0]: later, crm[1]: earlier})

    stored = store.couplings("CUSTOMER").set_index("crm_id")
    assert moved == 1
    assert stored.loc[crm, "crm_synced_on"].tolist() == [later, synced, synced]
    assert (stored["bc_synced_on"] == synced).all() and stored["to_crm_result"].isna().all()
    assert store.set_last_synch_crm_modified_on("CUSTOMER", {}) == 0


def test_couplings_read_in_parts_are_the_frame_read_at_once(
    store: CouplingStore, new_ids: NewIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mapping's couplings are turned into a frame a few rows at a time (a big mapping's rows are
    never all held as Python objects); a part whose column is all blank does not change its dtype."""
    bc, crm = new_ids(5), new_ids(5)
    store.couple("CUSTOMER", pairs(bc, crm))
    store.record_sync_results(
        "CUSTOMER",
        "ToIntegrationTable",
        pd.DataFrame(
            {"bc_id": bc[4:], "result": ["Success"], "bc_modified_on": [T0], "crm_modified_on": [T0]}
        ),
        job_id=new_ids(1)[0],
    )
    at_once = store.couplings("CUSTOMER")

    monkeypatch.setattr("bcsync.store.couplings.READ_PART_ROWS", 2)
    in_parts = store.couplings("CUSTOMER")

    pd.testing.assert_frame_equal(in_parts, at_once)
    assert at_once.set_index("bc_id")["to_crm_result"].loc[bc[4]] == "Success"


def test_couplings_can_be_read_with_only_some_columns(store: CouplingStore, new_ids: NewIds) -> None:
    bc, crm = new_ids(2), new_ids(2)
    store.couple("CUSTOMER", pairs(bc, crm))

    some = store.couplings("CUSTOMER", columns=["bc_id", "crm_id"])

    pd.testing.assert_frame_equal(some, store.couplings("CUSTOMER")[["bc_id", "crm_id"]])
    with pytest.raises(StoreInputError, match="no coupling column"):
        store.couplings("CUSTOMER", columns=["bc_id", "nonsense"])


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda g, h: [g + "\n" + h], id="two GUIDs in one value"),
        pytest.param(lambda g, h: [g, ""], id="a blank value"),
        pytest.param(lambda g, h: [g + "\n", h[:-1]], id="a newline moved between values"),
        pytest.param(lambda g, h: [g, h + "0"], id="a GUID too long"),
    ],
)
def test_values_that_only_look_like_guids_together_are_refused(
    store: CouplingStore, new_ids: NewIds, bad: Callable[[str, str], list[str]]
) -> None:
    bc, crm = new_ids(2), new_ids(2)
    rows = pairs(bad(*bc), crm[: len(bad(*bc))])

    with pytest.raises(StoreInputError, match="bc_id"):
        store.couple("CUSTOMER", rows)
    assert store.couplings("CUSTOMER").empty


def test_couplings_read_back_with_the_types_they_were_written_with(
    store: CouplingStore, new_ids: NewIds
) -> None:
    bc, crm = new_ids(2), new_ids(2)
    synced = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
    store.couple("CUSTOMER", pairs(bc, crm).assign(bc_synced_on=synced))

    for frame in (store.couplings("CUSTOMER"), store.couplings_for("CUSTOMER", bc_ids=bc)):
        assert frame["skipped"].tolist() == [False, False]
        assert frame["skipped"].dtype == bool
        assert frame["statistics_uploaded"].tolist() == [False, False]
        assert frame["bc_synced_on"].tolist() == [synced, synced]
        assert frame["to_crm_failures"].tolist() == [0, 0]


def test_pairs_written_in_several_driver_parts_are_all_stored_with_their_times(
    store: CouplingStore, new_ids: NewIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bcsync.store.bulk._EXECUTEMANY_ROWS", 2)
    bc, crm = new_ids(5), new_ids(5)
    # The first part has no time at all, the later ones have some: one insert, every value kept.
    synced = pd.Series([None, None, T0, None, T0], dtype="datetime64[us, UTC]")

    outcome = store.couple("CUSTOMER", pairs(bc, crm).assign(bc_synced_on=synced))

    assert outcome.coupled == 5
    stored = store.couplings("CUSTOMER").set_index("bc_id").loc[bc]
    assert stored["crm_id"].tolist() == crm
    assert stored["bc_synced_on"].isna().tolist() == [True, True, False, True, False]
    assert (stored["bc_synced_on"].dropna() == T0).all()
