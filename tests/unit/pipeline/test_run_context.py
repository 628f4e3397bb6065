"""What kind of run a task is in, from the Airflow context and the trigger form's params."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from airflow.sdk.api.datamodels._generated import DagRunType
from airflow.sdk.exceptions import AirflowFailException

from bcsync.pipeline.context import RunContext, RunKind


def context(run_type: DagRunType = DagRunType.SCHEDULED, **params) -> dict:
    return {
        "dag_run": SimpleNamespace(dag_id="bcsync_customer", run_id="r1", run_type=run_type),
        "ti": SimpleNamespace(task_id="extract_bc", try_number=2),
        "params": {"full_sync": False, "record_ids": [], "dry_run": False, "direction": "both", **params},
        "data_interval_start": datetime(2026, 1, 1, tzinfo=UTC),
        "data_interval_end": datetime(2026, 1, 1, 0, 30, tzinfo=UTC),
    }


def test_scheduled_run_moves_watermarks():
    run = RunContext.from_airflow(context())
    assert run.kind is RunKind.SCHEDULED and run.moves_watermarks and run.direction is None
    assert run.retries_failed_records
    assert run.try_number == 2 and run.task_id == "extract_bc"


def test_full_sync_param_makes_a_full_synchronization():
    assert RunContext.from_airflow(context(full_sync=True)).kind is RunKind.FULL


def test_backfill_run_uses_its_data_interval_and_leaves_watermarks():
    # What the Task SDK hands a task under the real scheduler: its own DagRunType enum.
    run = RunContext.from_airflow(context(run_type=DagRunType.BACKFILL))
    assert run.kind is RunKind.BACKFILL and not run.moves_watermarks and not run.retries_failed_records
    assert run.data_interval_end - run.data_interval_start == (
        datetime(2026, 1, 1, 0, 30, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC)
    )


def test_record_ids_are_synchronize_now_and_win_over_full_sync():
    run = RunContext.from_airflow(context(full_sync=True, record_ids=["a", "b"]))
    assert run.kind is RunKind.RECORDS and run.record_ids == ("a", "b") and not run.moves_watermarks


def test_dry_run_never_moves_watermarks_and_direction_restricts_a_pass():
    run = RunContext.from_airflow(context(dry_run=True, direction="ToIntegrationTable"))
    assert run.dry_run and not run.moves_watermarks and run.direction == "ToIntegrationTable"


def test_unknown_conf_key_fails_the_task_naming_it_and_the_params():
    # Airflow takes an unknown conf key as a new Param: `fullsync` would run as a scheduled run.
    run_context = context(fullsync=True)
    run_context["dag_run"].conf = {"fullsync": True}
    params = r"direction, dry_run, full_sync, partition_size, record_ids"
    with pytest.raises(AirflowFailException, match=rf"fullsync\..*{params}"):
        RunContext.from_airflow(run_context)


def test_conf_keys_are_checked_against_the_dags_own_params():
    run_context = context(mine=1, full_sync=True)
    run_context["dag_run"].conf = {"mine": 1, "full_sync": True}
    run_context["dag"] = SimpleNamespace(params={"full_sync": False, "mine": 0})
    assert RunContext.from_airflow(run_context).kind is RunKind.FULL
    run_context["dag_run"].conf = {"yours": 1}
    with pytest.raises(AirflowFailException, match=r"yours.*full_sync, mine"):
        RunContext.from_airflow(run_context)
