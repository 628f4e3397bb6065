"""The DAG files parse into one DAG per implemented job, shaped as the design says."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_dag_files_import_without_errors(dagbag):
    assert dagbag.import_errors == {}


def test_one_dag_per_implemented_job_named_after_the_job_code_and_the_full_sync_dag(dagbag):
    jobs = {"bcsync_salespeople", "bcsync_currency", "bcsync_customer", "bcsync_contact"}
    assert set(dagbag.dag_ids) == jobs | {"bcsync_full_sync"}


def test_bidirectional_job_extracts_both_sides_and_loads_both_ways(dagbag):
    dag = dagbag.dags["bcsync_customer"]
    assert set(dag.task_ids) == {
        "extract_bc",
        "extract_crm",
        "couple",
        "transform",
        "load_crm",
        "load_bc",
        "record_job",
        "job_status",
    }
    assert dag.get_task("load_crm").upstream_task_ids == {"transform"}
    assert dag.get_task("record_job").upstream_task_ids >= {"load_crm", "load_bc"}
    assert dag.get_task("job_status").trigger_rule == "all_done"


def test_one_way_job_loads_only_its_destination(dagbag):
    assert "load_bc" not in dagbag.dags["bcsync_currency"].task_ids
    assert "load_crm" not in dagbag.dags["bcsync_salespeople"].task_ids


def test_api_tasks_run_in_the_service_pools(dagbag):
    dag = dagbag.dags["bcsync_customer"]
    assert dag.get_task("extract_bc").pool == "bc_api"
    assert dag.get_task("load_crm").pool == "dataverse_api"


def test_manual_runs_offer_bcs_actions_as_params(dagbag):
    params = dagbag.dags["bcsync_customer"].params
    assert params["full_sync"] is False and params["dry_run"] is False
    assert params["record_ids"] == []
    assert params["direction"] == "both"
    assert "direction" not in dagbag.dags["bcsync_currency"].params


def test_default_schedule_is_bcs_every_30_minutes_with_data_intervals(dagbag):
    timetable = dagbag.dags["bcsync_customer"].timetable
    assert type(timetable).__name__ == "DeltaDataIntervalTimetable"
    assert timetable.delta == timedelta(minutes=30)


def test_job_completion_is_published_as_an_asset(dagbag):
    outlets = dagbag.dags["bcsync_customer"].get_task("record_job").outlets
    assert [asset.uri for asset in outlets] == ["bcsync://jobs/bcsync_customer"]


def test_full_sync_dag_runs_the_jobs_in_dependency_waves(dagbag):
    dag = dagbag.dags["bcsync_full_sync"]
    customer = dag.get_task("full_sync_customer")
    assert customer.upstream_task_ids == {"full_sync_salespeople", "full_sync_currency"}
    assert dag.get_task("full_sync_contact").upstream_task_ids == {"full_sync_customer"}
    assert customer.trigger_dag_id == "bcsync_customer" and customer.conf == {"full_sync": True}
    assert (
        customer.trigger_rule == "all_done"
    )  # a wave starts when its dependencies finished, failed records or not
