"""The job log (BC's "Integration Synch. Job") and per-record errors ("Integration Synch. Job Errors")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from bcsync.store import CouplingStore, Direction, JobType, StoreInputError, UnknownJobError

TO_CRM = Direction.TO_CRM


@dataclass
class Counters:
    """Shaped like the engine's JobCounters: the store reads it through `as_dict`."""

    inserted: int

    def as_dict(self) -> dict[str, int]:
        return {"Inserted": self.inserted, "Failed": 1}


def test_a_job_is_started_then_finished_with_bcs_counters(store: CouplingStore, clock) -> None:
    started = clock.now
    job_id = store.start_job("CUSTOMER", TO_CRM, job_type=JobType.FULL, run_id="manual__2026-03-01")
    clock.advance(42)

    store.finish_job(job_id, {"Inserted": 7, "Modified": 2, "Unchanged": 90, "Skipped": 1, "Failed": 0})

    job = store.jobs("CUSTOMER").iloc[0]
    assert uuid.UUID(job_id)
    assert (job["job_id"], job["direction"], job["type"], job["run_id"]) == (
        job_id,
        "ToIntegrationTable",
        "full",
        "manual__2026-03-01",
    )
    assert (job["started_on"], job["finished_on"]) == (started, clock.now)
    assert [job[c] for c in ("inserted", "modified", "deleted", "unchanged", "skipped", "failed")] == [
        7,
        2,
        0,
        90,
        1,
        0,
    ]


def test_a_job_with_no_records_still_gets_a_finished_row(store: CouplingStore) -> None:
    job_id = store.start_job("SALESPEOPLE", Direction.FROM_CRM)

    store.finish_job(job_id, {})

    job = store.jobs().iloc[0]
    assert job["job_id"] == job_id and job["finished_on"] is not None and job["inserted"] == 0


def test_counters_can_come_from_a_job_counters_object(store: CouplingStore) -> None:
    job_id = store.start_job("CUSTOMER", TO_CRM)

    store.finish_job(job_id, Counters(inserted=3), message="1 record failed")

    job = store.jobs().iloc[0]
    assert (job["inserted"], job["failed"], job["message"]) == (3, 1, "1 record failed")


def test_starting_a_job_id_again_continues_the_same_job(store: CouplingStore) -> None:
    job_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "bcsync_customer/scheduled__2026-03-01/ToIntegrationTable"))

    assert store.start_job("CUSTOMER", TO_CRM, job_id=job_id) == job_id
    assert store.start_job("CUSTOMER", TO_CRM, job_id=job_id) == job_id

    assert len(store.jobs()) == 1


def test_the_job_log_lists_the_newest_first_and_honours_the_limit(store: CouplingStore, clock) -> None:
    first = store.start_job("CUSTOMER", TO_CRM)
    clock.advance()
    second = store.start_job("CONTACT", TO_CRM)
    clock.advance()
    third = store.start_job("CUSTOMER", Direction.FROM_CRM)

    assert store.jobs()["job_id"].tolist() == [third, second, first]
    assert store.jobs("CUSTOMER", limit=1)["job_id"].tolist() == [third]


def test_finishing_an_unknown_job_is_an_error(store: CouplingStore) -> None:
    with pytest.raises(UnknownJobError):
        store.finish_job(str(uuid.uuid4()), {"Inserted": 1})


@pytest.mark.parametrize(
    ("counters", "complaint"), [({"Created": 1}, "unknown counter"), ({"Failed": -1}, "Failed")]
)
def test_bad_counters_are_refused(store: CouplingStore, counters: dict, complaint: str) -> None:
    job_id = store.start_job("CUSTOMER", TO_CRM)
    with pytest.raises(StoreInputError, match=complaint):
        store.finish_job(job_id, counters)


def test_record_errors_keep_the_task_try_and_both_records(store: CouplingStore, new_ids, clock) -> None:
    bc, crm = new_ids(1), new_ids(1)
    job_id = store.start_job("CUSTOMER", TO_CRM)

    store.add_record_errors(
        [
            {
                "job_id": job_id,
                "run_id": "scheduled__2026-03-01",
                "task_id": "load_crm",
                "try_number": 2,
                "mapping": "CUSTOMER",
                "direction": TO_CRM,
                "bc_id": bc[0].upper(),
                "crm_id": crm[0],
                "bc_number": "10000",
                "name": "Adatum Corporation",
                "message": "Salesperson/Purchaser PS must be coupled to a record in Dynamics 365 Sales.",
                "detail": "HTTP 400 from POST accounts",
            }
        ]
    )

    error = store.open_errors("CUSTOMER").iloc[0]
    assert (error["task_id"], error["try_number"], error["bc_id"], error["crm_id"]) == (
        "load_crm",
        2,
        bc[0],
        crm[0],
    )
    assert (error["bc_number"], error["name"], error["logged_on"]) == (
        "10000",
        "Adatum Corporation",
        clock.now,
    )
    assert not error["resolved"]


def test_a_long_message_is_cut_to_bcs_length_and_kept_whole_in_the_detail(store: CouplingStore) -> None:
    message = "x" * 300

    store.add_record_errors([{"mapping": "CUSTOMER", "direction": TO_CRM, "message": message}])

    error = store.open_errors().iloc[0]
    assert (len(error["message"]), error["detail"]) == (250, message)


def test_open_errors_filter_by_mapping_and_direction(store: CouplingStore) -> None:
    store.add_record_errors(
        [
            {"mapping": "CUSTOMER", "direction": TO_CRM, "message": "a"},
            {"mapping": "CUSTOMER", "direction": Direction.FROM_CRM, "message": "b"},
            {"mapping": "CONTACT", "direction": TO_CRM, "message": "c"},
        ]
    )

    assert store.open_errors()["message"].tolist() == ["a", "b", "c"]
    assert store.open_errors("CUSTOMER", TO_CRM)["message"].tolist() == ["a"]


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        ({"mapping": "CUSTOMER", "direction": TO_CRM}, "message"),
        ({"mapping": "CUSTOMER", "direction": "Up", "message": "m"}, "direction"),
        ({"mapping": "CUSTOMER", "direction": TO_CRM, "message": "m", "bc_id": "10000"}, "bc_id"),
    ],
)
def test_malformed_errors_are_refused(store: CouplingStore, row: dict, complaint: str) -> None:
    with pytest.raises(StoreInputError, match=complaint):
        store.add_record_errors([row])


def test_a_job_id_that_is_not_a_guid_is_refused(store: CouplingStore) -> None:
    with pytest.raises(StoreInputError, match="job_id"):
        store.start_job("CUSTOMER", TO_CRM, job_id="run-42")
