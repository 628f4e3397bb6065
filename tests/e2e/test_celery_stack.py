"""Beyond one machine: the CeleryExecutor stack runs a partitioned initial load on two workers.

A stack of its own (`local_airflow(..., executor="celery")`): Redis as Celery's broker, Airflow's
metadata and the coupling store on PostgreSQL, the scheduler, the API server, the DAG processor, a
triggerer and two Celery workers with separate working directories, staging in a bucket of moto's S3
server. `bcsync_full_sync` runs the initial load of SALESPEOPLE, CURRENCY and CUSTOMER (the other
mappings disabled) with a small partition size, so CUSTOMER's loads are split over several task
instances. Phases go to E2E_TIMINGS (printed in pytest's summary).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import redis
from airflow_api import AirflowApi
from e2e_stack import POSTGRES_SERVER, QUICK_SCHEDULER, record_timing, wait_for_dags

from bcsync.pipeline.services import Services
from bcsync.registry import load_registry
from bcsync_dev.celery_airflow import REDIS_URL, celery_services
from bcsync_dev.local_airflow import local_airflow
from bcsync_dev.local_postgres import reachable, throwaway_database
from bcsync_dev.sandbox_connections import sandbox_connections
from sandbox.launcher import free_ports, running_sandbox

pytestmark = pytest.mark.e2e

CUSTOMERS = 1500
PARTITION_SIZE = 250  # records to write per load task: about 800 of the 1,500 are new to Sales
JOBS = ("SALESPEOPLE", "CURRENCY", "CUSTOMER")
FULL_SYNC, CUSTOMER = "bcsync_full_sync", "bcsync_customer"
DAG_IDS = (FULL_SYNC, "bcsync_salespeople", "bcsync_currency", CUSTOMER)
TO_CRM, FROM_CRM = "ToIntegrationTable", "FromIntegrationTable"
RUN_TIMEOUT = 600.0  # a loaded 2-core machine: the full sync took 5.5 min once


def _only_these_jobs(edit_mappings: Callable[..., Path], folder: Path) -> Path:
    others = [m.name for m in load_registry().mappings if m.name not in JOBS]
    return edit_mappings(folder, {name: lambda mapping: mapping.update(enabled=False) for name in others})


def _skip_without_services() -> None:
    if problem := reachable(POSTGRES_SERVER):
        pytest.skip(f"the Celery stack keeps Airflow's metadata on PostgreSQL; {problem}")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"the Celery stack needs Redis at {REDIS_URL}: {error}")


def _run_watching_states(api: AirflowApi, dag_id: str, run_id: str) -> tuple[dict[str, Any], dict[str, set]]:
    """Wait for the run's end; returns it and every state each of its tasks was seen in."""
    seen: dict[str, set] = {}
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        for ti in api.task_instances(dag_id, run_id):
            seen.setdefault(ti["task_id"], set()).add(ti["state"])
        run = api.get_run(dag_id, run_id)
        if run["state"] in ("success", "failed"):
            return run, seen
        assert time.monotonic() < deadline, f"{dag_id} still {run['state']}: {seen}"
        time.sleep(0.5)


def _records(services: Services) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every BC customer and every Sales account, as the services hold them."""
    customers = [r for page in services.bc.iter_pages("customers", select=["id"]) for r in page]
    accounts = [r for page in services.crm.iter_pages("accounts", select=["accountid"]) for r in page]
    return pd.DataFrame(customers), pd.DataFrame(accounts)


@pytest.mark.timeout(900)
def test_a_partitioned_initial_load_runs_on_two_celery_workers_with_s3_staging(
    tmp_path: Path, edit_mappings: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
):
    _skip_without_services()
    started = time.monotonic()
    mappings = _only_these_jobs(edit_mappings, tmp_path / "mappings")
    with (
        running_sandbox(tmp_path / "sandbox", seed_customers=CUSTOMERS, timeout=300) as sandbox,
        throwaway_database(POSTGRES_SERVER, "i11_celery_airflow") as metadata_url,
    ):
        record_timing(f"celery: sandbox ({CUSTOMERS} customers)", time.monotonic() - started)
        metadata_db = metadata_url.render_as_string(hide_password=False)
        phase = time.monotonic()
        with celery_services(tmp_path, metadata_db) as shared:
            record_timing("celery: Redis flushed, S3 server, bucket, store db", time.monotonic() - phase)
            (api_port,) = free_ports(1)
            with local_airflow(
                sandbox,
                tmp_path,
                api_port=api_port,
                job_schedule=False,
                metadata_db=metadata_db,
                executor="celery",
                extra_env={**QUICK_SCHEDULER, **shared.env, "BCSYNC_MAPPINGS_DIR": str(mappings)},
                on_phase=lambda name, seconds: record_timing(f"celery: {name}", seconds),
            ) as airflow:
                api = AirflowApi(airflow.base_url)
                try:
                    phase = time.monotonic()
                    wait_for_dags(api, DAG_IDS)
                    record_timing("celery: DAGs serialized", time.monotonic() - phase)
                    for name, value in {**sandbox_connections(sandbox), **shared.env}.items():
                        monkeypatch.setenv(name, value)
                    services = Services()
                    customers_before, accounts_before = _records(services)

                    for dag_id in DAG_IDS:
                        api.unpause(dag_id)
                    phase = time.monotonic()
                    run_id = api.trigger(FULL_SYNC, {"partition_size": PARTITION_SIZE})
                    run, seen = _run_watching_states(api, FULL_SYNC, run_id)
                    record_timing(f"celery: {FULL_SYNC} → {run['state']}", time.monotonic() - phase)
                    before = (customers_before, accounts_before)
                    _check_initial_load(tmp_path, api, shared, services, seen, *before)
                    services.store.dispose()
                finally:
                    api.close()
    record_timing("celery: test total", time.monotonic() - started)


def _check_initial_load(
    work_dir: Path,
    api: AirflowApi,
    shared: Any,
    services: Services,
    seen: dict[str, set],
    customers_before: pd.DataFrame,
    accounts_before: pd.DataFrame,
) -> None:
    # The full synchronization's tasks waited in the triggerer (deferred), not in a worker slot.
    assert set(seen) == {"full_sync_salespeople", "full_sync_currency", "full_sync_customer"}
    for task_id, states in seen.items():
        assert "deferred" in states, (task_id, states)

    customer_run = api.latest_run(CUSTOMER)
    assert customer_run["conf"] == {"full_sync": True, "partition_size": PARTITION_SIZE}
    assert customer_run["state"] in ("success", "failed"), customer_run  # failed: records BC's rules refuse
    tis = api.task_instances(CUSTOMER, customer_run["dag_run_id"])
    loads = [ti for ti in tis if ti["task_id"] == "load_crm"]
    assert len(loads) >= 3, f"the To pass was not split: {len(loads)} load_crm instance(s)"
    assert {ti["state"] for ti in loads} <= {"success", "failed"}
    from_loads = [ti for ti in tis if ti["task_id"] == "load_bc"]
    assert len(from_loads) == len(loads)  # both loads are mapped over the same list of partitions
    timing = api.run_timing(CUSTOMER, customer_run["dag_run_id"])
    record_timing(f"celery: {CUSTOMER} run: {timing.describe()}", timing.wall)
    record_timing(f"celery: CUSTOMER To pass in {len(loads)} partitions of ≤ {PARTITION_SIZE} writes", 0.0)
    hosts = {ti["hostname"] for ti in tis if ti["state"] in ("success", "failed")}
    assert hosts == {"bcsync-worker-1", "bcsync-worker-2"}, hosts
    load_hosts = {ti["hostname"] for ti in loads}
    record_timing(f"celery: load_crm partitions ran on {sorted(load_hosts)}", 0.0)

    # No record twice on either side, and every record the job wrote coupled exactly once.
    customers, accounts = _records(services)
    couplings = services.store.couplings("CUSTOMER")
    assert couplings["bc_id"].is_unique and couplings["crm_id"].is_unique
    assert set(couplings["bc_id"].str.lower()) <= set(customers["id"].str.lower())
    assert set(couplings["crm_id"].str.lower()) <= set(accounts["accountid"].str.lower())
    created_accounts = set(accounts["accountid"]) - set(accounts_before["accountid"])
    created_customers = set(customers["id"]) - set(customers_before["id"])
    coupled_crm = set(couplings["crm_id"].str.lower())
    coupled_bc = set(couplings["bc_id"].str.lower())
    assert {a.lower() for a in created_accounts} <= coupled_crm, "an account created and not coupled"
    assert {c.lower() for c in created_customers} <= coupled_bc, "a customer created and not coupled"
    # What the job log says the partitions created, summed: exactly the records that are new.
    job_rows = services.store.jobs("CUSTOMER").set_index("direction")
    assert len(created_accounts) == job_rows.loc[TO_CRM, "inserted"] > PARTITION_SIZE
    assert len(created_customers) == job_rows.loc[FROM_CRM, "inserted"]
    record_timing(
        f"celery: CUSTOMER created {len(created_accounts)} accounts, {len(created_customers)} customers", 0.0
    )

    # The staged frames are in the bucket, the plan in one part per partition; none on the local disk.
    keys = shared.staged_keys()
    plan_parts = [k for k in keys if f"/{CUSTOMER}/" in k and f"/plan_{TO_CRM}/part-" in k]
    assert len(plan_parts) == len(loads), plan_parts
    assert not list(work_dir.glob("**/*.parquet")), "frames staged on the local disk"
