"""Under BC's Team ownership model the DAG files build no SALESPEOPLE job and write no owner fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from bcsync.actions.catalog import ACTION_DAG_IDS
from bcsync.registry.ownership import ENV_OWNERSHIP_MODEL

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def team_dagbag() -> DagBag:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_OWNERSHIP_MODEL, "Team")
        return DagBag(dag_folder=str(DAGS))


def test_team_model_has_no_salespeople_dag_and_customers_no_longer_wait_for_it(team_dagbag: DagBag) -> None:
    assert team_dagbag.import_errors == {}
    assert (
        set(team_dagbag.dag_ids)
        == {
            "bcsync_currency",
            "bcsync_customer",
            "bcsync_contact",
            "bcsync_unitofmeasure",
            "bcsync_item_product",
            "bcsync_resource_product",
            "bcsync_custprcgrp_price",
            "bcsync_salesprc_productprice",
            "bcsync_postedsalesinv_inv",
            "bcsync_customer_statistics",
            "bcsync_full_sync",
        }
        | ACTION_DAG_IDS
    )
    full_sync = team_dagbag.dags["bcsync_full_sync"]
    assert full_sync.get_task("full_sync_customer").upstream_task_ids == {"full_sync_currency"}
    doc = team_dagbag.dags["bcsync_customer"].doc_md
    assert "ownerid" not in doc and "depends on: CURRENCY." in doc
