"""Airflow Connections (as `AIRFLOW_CONN_<ID>` JSON) that point both hooks at a running local sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from bcsync.hooks.business_central import BusinessCentralHook
from bcsync.hooks.dataverse import DataverseHook

# The route of bcsync's own BC API pages (tables without a standard v2.0 API).
CUSTOM_API = "bcsync/sync/v1.0"


class RunningSandbox(Protocol):
    """What we read from a running sandbox (`sandbox.launcher`'s handle or the tests' fixture)."""

    dataverse_url: str
    bc_url: str
    entra_url: str
    tenant_id: str
    client_id: str
    client_secret: str
    company_id: str
    bc_environment: str
    ca_file: str | Path


def connection_env_var(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def sandbox_connections(
    sandbox: RunningSandbox,
    *,
    dataverse_conn_id: str = DataverseHook.default_conn_name,
    bc_conn_id: str = BusinessCentralHook.default_conn_name,
) -> dict[str, str]:
    """`{"AIRFLOW_CONN_DATAVERSE_DEFAULT": "<json>", "AIRFLOW_CONN_BC_DEFAULT": "<json>"}` for `sandbox`.

    Put them in the environment (`os.environ.update(...)`, `monkeypatch.setenv`) and the hooks find them
    the way Airflow finds any connection.
    """
    common = {
        "tenant_id": sandbox.tenant_id,
        "authority": f"{sandbox.entra_url.rstrip('/')}/{sandbox.tenant_id}",
        "ca_bundle": str(sandbox.ca_file),
    }
    dataverse = {
        "conn_type": DataverseHook.conn_type,
        "host": sandbox.dataverse_url.rstrip("/"),
        "login": sandbox.client_id,
        "password": sandbox.client_secret,
        "extra": common,
    }
    bc = {
        "conn_type": BusinessCentralHook.conn_type,
        "host": sandbox.bc_url.rstrip("/"),
        "login": sandbox.client_id,
        "password": sandbox.client_secret,
        "extra": {
            **common,
            "environment": sandbox.bc_environment,
            "company_id": sandbox.company_id,
            "custom_api": CUSTOM_API,
        },
    }
    return {
        connection_env_var(dataverse_conn_id): json.dumps(dataverse),
        connection_env_var(bc_conn_id): json.dumps(bc),
    }
