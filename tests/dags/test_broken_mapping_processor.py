"""Through Airflow's real DAG processor: a broken mapping leaves the other jobs' DAGs active (schedulable)
and shows an import error naming the broken one. (The processor marks every DAG of a file with an import
error stale, which a DagBag parse does not show: this is the test that catches it.)"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bcsync.actions.catalog import ACTION_DAG_IDS
from bcsync_dev.local_runs import airflow_settings


def misspell_contact_direction(mapping: dict[str, Any]) -> None:
    next(f for f in mapping["fields"] if f.get("bc_caption") == "E-Mail")["direction"] = "Sideways"


def test_the_dag_processor_keeps_the_working_jobs_active_beside_a_broken_mapping(
    tmp_path: Path, edit_mappings: Callable[..., Path], migrate_airflow_db: Callable[..., None]
):
    mappings = edit_mappings(tmp_path / "mappings", {"CONTACT": misspell_contact_direction})
    home = tmp_path / "airflow"
    home.mkdir()
    env = {**os.environ, **airflow_settings(home), "BCSYNC_MAPPINGS_DIR": str(mappings)}
    migrate_airflow_db(env, tmp_path / "migrate.log")

    subprocess.run(
        [sys.executable, "-m", "airflow", "dag-processor", "--num-runs", "1"],
        env=env,
        check=True,
        stdout=(tmp_path / "processor.log").open("w"),
        stderr=subprocess.STDOUT,
        timeout=240,
    )

    engine = sa.create_engine(f"sqlite:///{home / 'airflow.db'}")
    with engine.connect() as db:
        dags = {row.dag_id: row for row in db.execute(sa.text("SELECT dag_id, is_stale, fileloc FROM dag"))}
        errors = {
            Path(row.filename).name: row.stacktrace
            for row in db.execute(sa.text("SELECT * FROM import_error"))
        }
    engine.dispose()
    # CUSTOMER looks its primary contact up through CONTACT's couplings: it is out with CONTACT, and so
    # are the jobs whose records are CUSTOMER's (statistics, invoices); the product and price jobs stay.
    active = {dag_id for dag_id, row in dags.items() if not row.is_stale}
    products_and_prices = {
        "bcsync_unitofmeasure",
        "bcsync_item_product",
        "bcsync_resource_product",
        "bcsync_custprcgrp_price",
        "bcsync_salesprc_productprice",
    }
    working = {"bcsync_salespeople", "bcsync_currency", "bcsync_full_sync"} | products_and_prices
    assert active == working | ACTION_DAG_IDS, (
        tmp_path / "processor.log"
    ).read_text()[-3000:]
    assert set(errors) == {"bcsync_mapping_errors.py"}
    message = errors["bcsync_mapping_errors.py"]
    assert "bcsync_contact" in message and "contact.yaml: mapping CONTACT: field 'E-Mail'" in message
