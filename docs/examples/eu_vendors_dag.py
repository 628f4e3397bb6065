"""A DAG of your own built from bcsync's operators: vendors of a second BC company kept in step with a
second Sales environment, on connections of its own (`bc_eu`, `dataverse_eu`, `bcsync_store_eu`).

Copy it into your DAGs folder. VENDOR is not among bcsync's default jobs: add docs/examples/vendor.yaml
to the mappings first (see docs/mappings.md). Trigger it with `{"full_sync": true}` for the initial load.
"""

from datetime import UTC, datetime

from airflow.sdk import DAG

from bcsync.operators import IntegrationSyncTaskGroup, sync_params
from bcsync.registry import load_registry

EU = {"bc_conn_id": "bc_eu", "dataverse_conn_id": "dataverse_eu", "store_conn_id": "bcsync_store_eu"}

with DAG(
    dag_id="eu_vendors",
    schedule="*/30 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    params=sync_params(load_registry().get("VENDOR")),
):
    # A vendor's purchaser and currency are looked up through these jobs' couplings: sync them first.
    salespeople = IntegrationSyncTaskGroup("SALESPEOPLE", **EU)
    currencies = IntegrationSyncTaskGroup("CURRENCY", **EU)
    vendors = IntegrationSyncTaskGroup("VENDOR", **EU)
    [salespeople, currencies] >> vendors
