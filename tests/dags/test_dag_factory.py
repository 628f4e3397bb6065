"""The DAG files parse into one DAG per implemented job, shaped as the design says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DAG, Asset, AssetAlias, AssetAll, AssetOrTimeSchedule, DeltaDataIntervalTimetable
from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID
from airflow.serialization.serialized_objects import DagSerialization

from bcsync.actions.catalog import ACTION_DAG_IDS
from bcsync.dag_factory import START

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
# The asset CUSTOMER's record_job adds its events to (RecordJobOperator, through its alias).
CUSTOMER_DONE = Asset(name="bcsync_customer_job", uri="bcsync://jobs/bcsync_customer")
SALESPEOPLE_DONE = Asset(name="bcsync_salespeople_job", uri="bcsync://jobs/bcsync_salespeople")

ScheduleEdits = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def dagbag_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit_mappings: Callable[..., Path]
) -> Callable[[ScheduleEdits], DagBag]:
    """Parse the DAG files over a copy of include/mappings whose schedules are edited: {mapping name:
    {key: value}}, a value of None removing the key; the `disabled` jobs get no DAG."""

    def merged(edit: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        def apply(mapping: dict[str, Any]) -> None:
            schedule = {**mapping["schedule"], **edit}
            mapping["schedule"] = {key: value for key, value in schedule.items() if value is not None}

        return apply

    def disable(mapping: dict[str, Any]) -> None:
        mapping["enabled"] = False

    def build(edits: ScheduleEdits, disabled: tuple[str, ...] = ()) -> DagBag:
        changes = {name: merged(edit) for name, edit in edits.items()} | dict.fromkeys(disabled, disable)
        directory = edit_mappings(tmp_path / "mappings", changes)
        monkeypatch.setenv("BCSYNC_MAPPINGS_DIR", str(directory))
        bag = DagBag(dag_folder=str(DAGS))
        assert bag.import_errors == {}
        return bag

    return build


def periodic(dag: DAG) -> bool:
    """Whether the scheduler's copy of the DAG allows backfills (Airflow refuses non-periodic ones)."""
    return DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable.periodic


def test_dag_files_import_without_errors(dagbag):
    assert dagbag.import_errors == {}


def test_one_dag_per_implemented_job_named_after_the_job_code_and_the_full_sync_dag(dagbag):
    jobs = {"bcsync_salespeople", "bcsync_currency", "bcsync_customer", "bcsync_contact"}
    products = {"bcsync_unitofmeasure", "bcsync_item_product", "bcsync_resource_product"}
    prices = {"bcsync_custprcgrp_price", "bcsync_salesprc_productprice"}
    invoices = {"bcsync_postedsalesinv_inv"}  # its lines (POSTEDSALESLINE-INV) run inside it
    statistics = {"bcsync_customer_statistics"}
    every = jobs | products | prices | invoices | statistics | {"bcsync_full_sync"}
    assert set(dagbag.dag_ids) == every | ACTION_DAG_IDS


@pytest.mark.parametrize(
    ("dag_id", "parsed"),
    [("bcsync_customer", {"bcsync_customer"}), ("bcsync_full_sync", {"bcsync_full_sync"})],
)
def test_a_task_process_parses_only_its_own_dag(dag_id, parsed, dagbag, monkeypatch):
    """The task runner parses the DAG file inside Airflow's parsing context (the variable its
    context manager sets, which it leaves set afterwards): one job's DAG is built, not all of them;
    the DAG processor (no context) still gets every DAG."""
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, dag_id)
    in_task = DagBag(dag_folder=str(DAGS / "bcsync_jobs.py"))
    assert set(in_task.dags) == parsed and not in_task.import_errors
    assert in_task.dags[dag_id].task_dict.keys() == dagbag.dags[dag_id].task_dict.keys()
    assert {"bcsync_customer", "bcsync_contact", "bcsync_full_sync"} <= set(dagbag.dags)


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
    # BC's order: the From pass after the To pass, also when records of the To pass failed.
    assert dag.get_task("load_bc").upstream_task_ids == {"transform", "load_crm"}
    assert dag.get_task("load_bc").trigger_rule == "all_done_min_one_success"
    assert dag.get_task("record_job").upstream_task_ids >= {"load_crm", "load_bc"}
    assert dag.get_task("job_status").trigger_rule == "all_done"


def test_one_way_job_loads_only_its_destination(dagbag):
    assert "load_bc" not in dagbag.dags["bcsync_currency"].task_ids
    assert "load_crm" not in dagbag.dags["bcsync_salespeople"].task_ids


def test_api_tasks_hold_a_pool_slot_per_request_they_keep_in_flight(dagbag):
    """A slot is a request in flight: paged reads hold one, loads as many as they send at once, so
    the pool's size caps all tasks' requests to its service (BC: 5 per user)."""
    dag = dagbag.dags["bcsync_customer"]
    slots = {
        task_id: (dag.get_task(task_id).pool, dag.get_task(task_id).pool_slots)
        for task_id in ("extract_bc", "extract_crm", "load_bc", "load_crm")
    }
    assert slots == {
        "extract_bc": ("bc_api", 1),
        "extract_crm": ("dataverse_api", 1),
        "load_bc": ("bc_api", 5),
        "load_crm": ("dataverse_api", 4),
    }
    assert all(dag.get_task(t).pool == "default_pool" for t in ("couple", "transform", "record_job"))


def test_manual_runs_offer_bcs_actions_as_params(dagbag):
    params = dagbag.dags["bcsync_customer"].params
    assert params["full_sync"] is False and params["dry_run"] is False
    assert params["record_ids"] == []
    assert params["direction"] == "both"
    # A one-way job takes the other direction too, and answers it as BC does (a job row with its message).
    assert dagbag.dags["bcsync_currency"].params["direction"] == "both"


def test_default_schedule_is_bcs_every_30_minutes_with_data_intervals(dagbag):
    timetable = dagbag.dags["bcsync_customer"].timetable
    assert type(timetable).__name__ == "DeltaDataIntervalTimetable"
    assert timetable.delta == timedelta(minutes=30)


def test_job_completion_is_published_through_an_alias_so_dry_runs_can_stay_silent(dagbag):
    outlets = dagbag.dags["bcsync_customer"].get_task("record_job").outlets
    assert outlets == [AssetAlias(name="bcsync_customer_job_events")]


def test_full_sync_dag_runs_the_jobs_in_dependency_waves(dagbag):
    dag = dagbag.dags["bcsync_full_sync"]
    customer = dag.get_task("full_sync_customer")
    assert customer.upstream_task_ids == {"full_sync_salespeople", "full_sync_currency"}
    assert dag.get_task("full_sync_contact").upstream_task_ids == {"full_sync_customer"}
    for products in ("full_sync_item_product", "full_sync_resource_product"):
        assert dag.get_task(products).upstream_task_ids == {"full_sync_unitofmeasure"}
    assert customer.trigger_dag_id == "bcsync_customer"
    assert customer.conf == {"full_sync": True, "partition_size": "{{ params.partition_size }}"}
    assert dag.params["partition_size"] == 10_000 and dag.render_template_as_native_obj
    assert customer.wait_for_completion and customer.deferrable  # the triggerer waits, not a worker
    assert (
        customer.trigger_rule == "all_done"
    )  # a wave starts when its dependencies finished, failed records or not


def test_price_jobs_wait_in_the_full_sync_for_the_jobs_they_depend_on_that_have_dags(dagbag):
    dag = dagbag.dags["bcsync_full_sync"]
    assert "full_sync_currency" in dag.get_task("full_sync_custprcgrp_price").upstream_task_ids
    prices = dag.get_task("full_sync_salesprc_productprice")
    assert "full_sync_custprcgrp_price" in prices.upstream_task_ids


def test_the_doc_states_the_schedule(dagbag):
    assert "**Schedule:** every 30 minutes." in dagbag.dags["bcsync_customer"].doc_md


def test_after_runs_the_job_on_its_timer_and_when_the_named_job_finished(dagbag_with):
    bag = dagbag_with({"CONTACT": {"after": ["CUSTOMER"]}})
    contact = bag.dags["bcsync_contact"]
    timetable = contact.timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert timetable.timetable == DeltaDataIntervalTimetable(timedelta(minutes=30))
    assert timetable.asset_condition == CUSTOMER_DONE
    assert periodic(contact)  # the timer's data intervals: backfills still work
    assert (
        "**Schedule:** every 30 minutes, and whenever **CUSTOMER** finishes "
        "(asset `bcsync://jobs/bcsync_customer`)." in contact.doc_md
    )
    assert type(bag.dags["bcsync_customer"].timetable) is DeltaDataIntervalTimetable


@pytest.mark.parametrize("data_intervals", ["False", "True"])
def test_a_cron_timer_with_after_is_what_the_plain_cron_schedule_would_be(
    dagbag_with, monkeypatch: pytest.MonkeyPatch, data_intervals: str
):
    monkeypatch.setenv("AIRFLOW__SCHEDULER__CREATE_CRON_DATA_INTERVALS", data_intervals)
    bag = dagbag_with({"CONTACT": {"every": None, "cron": "*/15 * * * *", "after": ["CUSTOMER"]}})
    timetable = bag.dags["bcsync_contact"].timetable
    plain = DAG("plain_cron", schedule="*/15 * * * *", start_date=START).timetable
    expected = "CronDataIntervalTimetable" if data_intervals == "True" else "CronTriggerTimetable"
    assert type(plain).__name__ == expected
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert timetable.timetable == plain
    assert timetable.asset_condition == CUSTOMER_DONE


def test_after_alone_schedules_on_the_asset_only_and_cannot_be_backfilled(dagbag_with):
    bag = dagbag_with({"CONTACT": {"every": None, "after": ["CUSTOMER"]}})
    contact = bag.dags["bcsync_contact"]
    assert type(contact.timetable).__name__ == "AssetTriggeredTimetable"
    assert contact.timetable.asset_condition == CUSTOMER_DONE
    assert not periodic(contact)
    assert "no timer" in contact.doc_md and "cannot be backfilled" in contact.doc_md


def test_after_several_jobs_waits_for_each_of_them(dagbag_with):
    bag = dagbag_with({"CONTACT": {"after": ["CUSTOMER", "SALESPEOPLE"]}})
    timetable = bag.dags["bcsync_contact"].timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert timetable.asset_condition == AssetAll(CUSTOMER_DONE, SALESPEOPLE_DONE)
    assert "have each finished since the last run" in bag.dags["bcsync_contact"].doc_md


def test_after_a_job_without_a_dag_keeps_the_timer_alone_and_says_so(dagbag_with):
    bag = dagbag_with(
        {"CONTACT": {"after": ["CUSTOMER", "CUSTOMER STATISTICS"]}}, disabled=("CUSTOMER STATISTICS",)
    )
    contact = bag.dags["bcsync_contact"]
    assert type(contact.timetable) is DeltaDataIntervalTimetable
    assert contact.timetable.delta == timedelta(minutes=30)
    assert (
        "CUSTOMER STATISTICS has no DAG yet, so `after` is not in effect and this DAG runs every "
        "30 minutes alone." in contact.doc_md
    )


def test_after_alone_a_job_without_a_dag_leaves_manual_runs(dagbag_with):
    bag = dagbag_with(
        {"CONTACT": {"every": None, "after": ["CUSTOMER STATISTICS"]}}, disabled=("CUSTOMER STATISTICS",)
    )
    contact = bag.dags["bcsync_contact"]
    assert type(contact.timetable).__name__ == "NullTimetable"
    assert "this DAG runs only when triggered" in contact.doc_md
