"""A mapping added as one YAML file becomes a working job DAG, and a hand-written DAG built from the public
operators runs on connections of its own (real DAG runs: Airflow's dag.test in a fresh process)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sandbox_data import bc_rows, dataverse_rows, enter_chf_exchange_rate

from bcsync.store.store import CouplingStore
from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from bcsync_dev.sandbox_connections import sandbox_connections
from sandbox.launcher import RunningSandbox, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
VENDOR_ACCOUNT = 11  # customertypecode "Vendor"


@dataclass
class Company:
    """The local services with a company whose data an administrator has put in order."""

    sandbox: RunningSandbox
    work: Path
    mappings: Path  # the default mappings plus docs/examples/vendor.yaml


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Company]:
    work = tmp_path_factory.mktemp("vendors")
    mappings = work / "mappings"
    shutil.copytree(ROOT / "include" / "mappings", mappings)
    shutil.copy(EXAMPLES / "vendor.yaml", mappings / "vendor.yaml")  # what the user does: one file
    with running_sandbox(work / "sandbox", seed_customers=20) as sandbox:
        _put_data_in_order(sandbox)
        yield Company(sandbox, work, mappings)


def _put_data_in_order(sandbox: RunningSandbox) -> None:
    """What BC's rules would otherwise fail on the seed: CHF has no exchange rate, and some purchasers
    have no Sales user. The administrators fix both in their systems' own screens."""
    enter_chf_exchange_rate(sandbox)
    purchasers = {v["purchaserCode"] for v in bc_rows(sandbox, "vendor") if v["purchaserCode"]}
    users = {str(u["internalemailaddress"] or "").lower() for u in dataverse_rows(sandbox, "systemuser")}
    unit = dataverse_rows(sandbox, "businessunit")[0]["businessunitid"]
    missing = [
        p
        for p in bc_rows(sandbox, "salespersonPurchaser")
        if p["code"] in purchasers and p["email"].lower() not in users
    ]
    assert missing, "the seed has a purchaser without a Sales user (Graphic Design Institute's BC)"
    session = sandbox_session(sandbox)
    for person in missing:
        response = session.post(
            f"{sandbox.dataverse_api}/systemusers",
            json={
                "fullname": person["displayName"],
                "internalemailaddress": person["email"],
                "islicensed": True,
                "businessunitid@odata.bind": f"/businessunits({unit})",
            },
        )
        response.raise_for_status()


def sandbox_session(sandbox: RunningSandbox):
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    session.headers["Authorization"] = f"Bearer {sandbox.token(sandbox.dataverse_scope)}"
    return session


def assert_every_vendor_coupled_once_to_a_vendor_account(sandbox: RunningSandbox, store_file: Path) -> None:
    store = CouplingStore(f"sqlite:///{store_file}")
    try:
        couplings = store.couplings("VENDOR")
    finally:
        store.dispose()
    in_filter = {str(v["id"]).lower() for v in bc_rows(sandbox, "vendor") if v["blocked"] == " "}
    accounts = {str(a["accountid"]).lower(): a for a in dataverse_rows(sandbox, "account")}
    assert set(couplings["bc_id"]) == in_filter
    assert couplings["crm_id"].is_unique and couplings["bc_id"].is_unique
    assert {accounts[crm_id]["customertypecode"] for crm_id in couplings["crm_id"]} == {VENDOR_ACCOUNT}
    names = {str(v["id"]).lower(): v["displayName"] for v in bc_rows(sandbox, "vendor")}
    assert all(
        accounts[c]["name"] == names[b] for b, c in zip(couplings["bc_id"], couplings["crm_id"], strict=True)
    )


def test_a_mapping_added_as_one_yaml_file_runs_as_its_own_dag(
    company: Company, tmp_path: Path, migrate_airflow_db: Callable[..., None]
):
    env = {**airflow_environment(company.sandbox, tmp_path), "BCSYNC_MAPPINGS_DIR": str(company.mappings)}
    migrate_airflow_db(env, tmp_path / "migrate.log")

    states = run_in_subprocess(
        ["bcsync_salespeople", "bcsync_currency", "bcsync_vendor"],
        {"full_sync": True},
        env,
        tmp_path / "runs.log",
    )

    assert states == {
        "bcsync_salespeople": "success",
        "bcsync_currency": "success",
        "bcsync_vendor": "success",
    }
    assert_every_vendor_coupled_once_to_a_vendor_account(company.sandbox, tmp_path / "store.db")
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    jobs = store.jobs("VENDOR").set_index("direction")
    store.dispose()
    assert jobs.loc["ToIntegrationTable", "inserted"] > 0  # BC-only vendors created as vendor accounts
    assert jobs.loc["FromIntegrationTable", "inserted"] > 0  # Sales-only vendor accounts created in BC


def test_a_dag_of_ones_own_runs_the_operators_on_connections_of_its_own(
    company: Company, tmp_path: Path, migrate_airflow_db: Callable[..., None]
):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLES / "eu_vendors_dag.py", dags)
    env = {
        **airflow_environment(company.sandbox, tmp_path),
        # Only the example's connections point at the services: the defaults would fail the run.
        **sandbox_connections(company.sandbox, bc_conn_id="bc_eu", dataverse_conn_id="dataverse_eu"),
        "AIRFLOW_CONN_BCSYNC_STORE_EU": f"sqlite:///{tmp_path / 'store_eu.db'}",
        "AIRFLOW_CONN_BC_DEFAULT": "http://nowhere.invalid",
        "AIRFLOW_CONN_DATAVERSE_DEFAULT": "http://nowhere.invalid",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "BCSYNC_MAPPINGS_DIR": str(company.mappings),
    }
    migrate_airflow_db(env, tmp_path / "migrate.log")

    states = run_in_subprocess(["eu_vendors"], {"full_sync": True}, env, tmp_path / "runs.log", dags=dags)

    assert states == {"eu_vendors": "success"}, (tmp_path / "runs.log").read_text()[-3000:]
    assert_every_vendor_coupled_once_to_a_vendor_account(company.sandbox, tmp_path / "store_eu.db")
    assert not (tmp_path / "store.db").exists()  # nothing went through the default store
