"""The coupling store on PostgreSQL: migrations, upserts, bulk copies, locks and the Airflow Connection."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL

from bcsync.store import (
    CouplingStore,
    Direction,
    create_store_engine,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from bcsync.store.schema import VERSION_TABLE, metadata

pytestmark = pytest.mark.postgres

TO_CRM, FROM_CRM = Direction.TO_CRM, Direction.FROM_CRM
T0 = datetime(2026, 2, 1, 9, 0, 0, 250000, tzinfo=UTC)


def new_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_a_fresh_database_is_migrated_to_head_once_even_when_workers_start_together(
    postgres_url: URL,
) -> None:
    engines = [create_store_engine(postgres_url) for _ in range(4)]
    failures: list[BaseException] = []

    def start(engine: sa.Engine) -> None:
        try:
            upgrade_to_head(engine)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert current_revision(engines[0]) == head_revision()
    assert upgrade_to_head(engines[0]) == head_revision()  # again: a no-op
    with engines[0].connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []
    for engine in engines:
        engine.dispose()


def test_coupling_refuses_records_coupled_elsewhere_and_replace_moves_them(store: CouplingStore) -> None:
    bc, crm = new_ids(2), new_ids(2)
    store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc[:1], "crm_id": crm[:1]}))

    refused = store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc[:1], "crm_id": crm[1:]}))
    moved = store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc[:1], "crm_id": crm[1:]}), replace=True)

    assert refused.conflicts["reason"].tolist() == ["bc_id_already_coupled"]
    assert (moved.coupled, moved.replaced) == (1, 1)
    assert store.couplings("CUSTOMER")["crm_id"].tolist() == crm[1:]
    assert store.uncouple("CUSTOMER", crm_ids=crm[1:]) == 1


def test_concurrent_couplers_never_couple_one_record_twice(postgres_url: URL, clock) -> None:
    bc, crm = new_ids(1), new_ids(8)
    stores = [CouplingStore(postgres_url, clock=clock) for _ in crm]
    stores[0].couplings("CUSTOMER")  # migrate first: this test is about the couplings
    outcomes = []

    def couple(store: CouplingStore, crm_id: str) -> None:
        outcomes.append(store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": [crm_id]})))

    threads = [threading.Thread(target=couple, args=pair) for pair in zip(stores, crm, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcome.coupled for outcome in outcomes) == [0] * 7 + [1]
    assert len(stores[0].couplings("CUSTOMER")) == 1
    for store in stores:
        store.dispose()


def test_watermarks_only_move_forward(store: CouplingStore) -> None:
    store.advance_watermark("CUSTOMER", FROM_CRM, T0)

    assert store.advance_watermark("CUSTOMER", FROM_CRM, T0 - timedelta(seconds=1)) == T0
    assert store.advance_watermark(
        "CUSTOMER", FROM_CRM, T0 + timedelta(hours=2), not_after=T0 + timedelta(hours=1)
    ) == (T0 + timedelta(hours=1))
    assert store.get_watermark("CUSTOMER", TO_CRM) is None


def test_same_error_twice_skips_and_a_success_resets_and_resolves(store: CouplingStore) -> None:
    bc, crm = new_ids(2), new_ids(2)
    store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": crm}))
    failure = pd.DataFrame({"bc_id": bc, "result": "Failure", "message": ["Boom", "Boom"]})
    store.add_record_errors([{"mapping": "CUSTOMER", "direction": TO_CRM, "bc_id": bc[0], "message": "Boom"}])

    store.record_sync_results("CUSTOMER", TO_CRM, failure)
    store.record_sync_results(
        "CUSTOMER", TO_CRM, pd.DataFrame({"bc_id": bc[:1], "result": "Success", "bc_modified_on": T0})
    )
    second = store.record_sync_results("CUSTOMER", TO_CRM, failure.iloc[1:])

    assert second.newly_skipped["bc_id"].tolist() == bc[1:]
    assert store.skipped("CUSTOMER")["bc_id"].tolist() == bc[1:]
    assert store.failed_last_time("CUSTOMER", TO_CRM).empty
    assert store.open_errors("CUSTOMER").empty
    assert store.couplings_for("CUSTOMER", bc_ids=bc[:1]).iloc[0]["bc_synced_on"] == T0
    assert store.restore_skipped("CUSTOMER") == 1
    assert store.failed_last_time("CUSTOMER", TO_CRM)["bc_id"].tolist() == bc[1:]


def test_pending_journal_keeps_one_open_entry_per_source_record(store: CouplingStore) -> None:
    source, first, second = new_ids(2), new_ids(2), new_ids(2)
    store.record_pending("CUSTOMER", TO_CRM, pd.DataFrame({"source_id": source, "destination_id": first}))

    again = store.record_pending(
        "CUSTOMER", TO_CRM, pd.DataFrame({"source_id": source, "destination_id": second})
    )
    confirmed = store.confirm("CUSTOMER", TO_CRM, source[:1])
    abandoned = store.abandon("CUSTOMER", TO_CRM, source[1:])

    assert sorted(again["destination_id"]) == sorted(first)
    assert (confirmed, abandoned) == (1, 1)
    assert store.list_pending("CUSTOMER", TO_CRM).empty


def test_job_log_round_trip(store: CouplingStore, clock) -> None:
    job_id = store.start_job("CUSTOMER", TO_CRM, run_id="scheduled__2026-03-01")
    clock.advance(5)
    store.finish_job(job_id, {"Inserted": 2, "Unchanged": 3})

    job = store.jobs("CUSTOMER").iloc[0]
    assert (job["inserted"], job["unchanged"], job["finished_on"] - job["started_on"]) == (
        2,
        3,
        timedelta(seconds=5),
    )


def test_bulk_coupling_and_results_for_twenty_thousand_records(store: CouplingStore) -> None:
    bc, crm = new_ids(20_000), new_ids(20_000)

    assert store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": crm})).coupled == 20_000
    results = pd.DataFrame({"bc_id": bc, "result": "Success", "bc_modified_on": T0, "crm_modified_on": T0})
    assert store.record_sync_results("CUSTOMER", TO_CRM, results).succeeded == 20_000

    stored = store.couplings("CUSTOMER")
    assert len(stored) == 20_000 and (stored["to_crm_result"] == "Success").all()


def test_from_connection_reads_a_postgres_airflow_connection(
    postgres_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = postgres_url.set(drivername="postgresql")  # as users write it: postgresql://user@host:5432/db
    monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STORE", plain.render_as_string(hide_password=False))

    store = CouplingStore.from_connection()
    store.advance_watermark("CUSTOMER", TO_CRM, T0)

    assert store.engine.dialect.name == "postgresql"
    assert store.get_watermark("CUSTOMER", TO_CRM) == T0
    store.dispose()


def test_free_text_survives_the_bulk_copy_path_unchanged(store: CouplingStore) -> None:
    awkward = 'Name "O\'Brien & Co"\twith tab\nnew line, back\\slash and \\N, ü€'
    bc = new_ids(1)

    store.add_record_errors(
        [{"mapping": "CUSTOMER", "direction": TO_CRM, "bc_id": bc[0], "message": awkward, "try_number": 3}]
    )
    store.record_pending("CUSTOMER", FROM_CRM, [{"source_id": bc[0], "marker": awkward}])

    error = store.open_errors("CUSTOMER").iloc[0]
    assert (error["message"], error["detail"], error["try_number"]) == (awkward, None, 3)
    assert store.list_pending("CUSTOMER", FROM_CRM)["marker"].tolist() == [awkward]


def test_one_transaction_commits_or_rolls_back_a_loads_writes_together(store: CouplingStore) -> None:
    bc, crm = new_ids(2), new_ids(2)
    store.record_pending("CUSTOMER", TO_CRM, pd.DataFrame({"source_id": bc, "destination_id": crm}))

    with pytest.raises(ValueError), store.one_transaction():
        store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc[:1], "crm_id": crm[:1]}), coupled_by="create")
        store.confirm("CUSTOMER", TO_CRM, bc[:1])
        store.add_record_errors([{"mapping": "CUSTOMER", "direction": TO_CRM, "message": None}])
    with store.one_transaction():
        store.couple("CUSTOMER", pd.DataFrame({"bc_id": bc, "crm_id": crm}), coupled_by="create")
        store.confirm("CUSTOMER", TO_CRM, bc)
        recorded = store.record_sync_results(
            "CUSTOMER", TO_CRM, pd.DataFrame({"bc_id": bc, "result": ["Success", "Failure"]})
        )

    assert (recorded.succeeded, recorded.failed) == (1, 1)
    assert sorted(store.couplings("CUSTOMER")["bc_id"]) == sorted(bc)
    assert store.list_pending("CUSTOMER", TO_CRM).empty
    assert store.failed_last_time("CUSTOMER", TO_CRM)["bc_id"].tolist() == bc[1:]
