"""UNITOFMEASURE, ITEM-PRODUCT and RESOURCE-PRODUCT as real DAG runs (dag.test in a fresh process),
in their dependency order, on the seeded local services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox

PRODUCT_DAGS = ["bcsync_unitofmeasure", "bcsync_item_product", "bcsync_resource_product"]


def test_product_dags_full_sync_then_no_change_runs(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    sandbox.reset()
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        full = run_in_subprocess(PRODUCT_DAGS, {"full_sync": True}, env, tmp_path / "full.log")
        quiet = run_in_subprocess(PRODUCT_DAGS, {}, env, tmp_path / "again.log")
    finally:
        sandbox.reset()
    # The seed's item 1999-S has no base unit: it fails, so ITEM-PRODUCT's full sync ends red.
    assert full == {
        "bcsync_unitofmeasure": "success",
        "bcsync_item_product": "failed",
        "bcsync_resource_product": "success",
    }
    assert "Base Unit of Measure must have a value in Item: No.=1999-S" in (tmp_path / "full.log").read_text()
    assert set(quiet.values()) == {"success"}  # nothing failed last time is coupled: nothing to retry

    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        jobs = store.jobs()
        first = jobs.sort_values("started_on").groupby(["mapping", "direction"]).first()
        last = jobs.sort_values("started_on").groupby(["mapping", "direction"]).last()
        assert first.loc[("UNITOFMEASURE", "ToIntegrationTable"), "inserted"] == 4
        assert first.loc[("ITEM-PRODUCT", "ToIntegrationTable"), "inserted"] == 9
        assert first.loc[("RESOURCE-PRODUCT", "ToIntegrationTable"), "inserted"] == 3
        assert (last[["inserted", "modified", "failed"]] == 0).all().all()
    finally:
        store.dispose()
