"""`sandbox_connections`: the AIRFLOW_CONN_* variables that point both hooks at a running sandbox."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bcsync.hooks import BusinessCentralHook, DataverseHook
from bcsync_dev.sandbox_connections import sandbox_connections


@dataclass
class StubSandbox:
    dataverse_url: str = "https://127.0.0.1:18441"
    bc_url: str = "https://127.0.0.1:18442"
    entra_url: str = "https://127.0.0.1:18440"
    tenant_id: str = "7c3a1f52-0b6e-4d8e-9a51-2f4c8b6d9e10"
    client_id: str = "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
    client_secret: str = "sandbox-local-only-secret"
    company_id: str = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    bc_environment: str = "production"
    ca_file: Path = Path(__file__)  # any existing file stands in for the CA


def test_both_connections_are_json_env_vars_under_the_default_ids() -> None:
    variables = sandbox_connections(StubSandbox())

    assert set(variables) == {"AIRFLOW_CONN_DATAVERSE_DEFAULT", "AIRFLOW_CONN_BC_DEFAULT"}
    dataverse = json.loads(variables["AIRFLOW_CONN_DATAVERSE_DEFAULT"])
    assert dataverse["conn_type"] == "dataverse" and dataverse["host"] == "https://127.0.0.1:18441"
    assert dataverse["extra"]["authority"] == "https://127.0.0.1:18440/7c3a1f52-0b6e-4d8e-9a51-2f4c8b6d9e10"
    assert dataverse["extra"]["ca_bundle"] == __file__
    bc = json.loads(variables["AIRFLOW_CONN_BC_DEFAULT"])
    assert bc["extra"]["environment"] == "production" and bc["extra"]["custom_api"] == "bcsync/sync/v1.0"


def test_hooks_built_from_them_resolve_the_sandbox_urls_and_scopes(monkeypatch) -> None:
    for name, value in sandbox_connections(StubSandbox()).items():
        monkeypatch.setenv(name, value)

    dataverse, bc = DataverseHook(), BusinessCentralHook()

    assert dataverse.service_root() == "https://127.0.0.1:18441/api/data/v9.2/"
    assert dataverse.settings.scope == "https://127.0.0.1:18441/.default"
    assert (
        bc.service_root() == "https://127.0.0.1:18442/v2.0/7c3a1f52-0b6e-4d8e-9a51-2f4c8b6d9e10/production/"
    )
    assert bc.settings.scope == "https://api.businesscentral.dynamics.com/.default"


def test_other_connection_ids_can_be_chosen() -> None:
    variables = sandbox_connections(StubSandbox(), dataverse_conn_id="crm_eu", bc_conn_id="bc_eu")

    assert set(variables) == {"AIRFLOW_CONN_CRM_EU", "AIRFLOW_CONN_BC_EU"}
