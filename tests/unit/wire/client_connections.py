"""Fake service URLs, identities and Airflow Connections shared by the client unit tests."""

from __future__ import annotations

import json

from airflow.sdk import Connection
from wire_fake import AUTHORITY, TENANT

DATAVERSE_URL = "https://org.crm.sandbox.test"
DATAVERSE_API = f"{DATAVERSE_URL}/api/data/v9.2"
BC_URL = "https://bc.sandbox.test"
COMPANY = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
BC_API = f"{BC_URL}/v2.0/{TENANT}/production/api/v2.0/companies({COMPANY})"
CLIENT_ID = "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
CLIENT_SECRET = "s3cr3t-Value~that-must-never-leak"


def dataverse_connection(**extra: object) -> Connection:
    return Connection(
        conn_id="dataverse_test",
        conn_type="dataverse",
        host=DATAVERSE_URL,
        login=CLIENT_ID,
        password=CLIENT_SECRET,
        extra=json.dumps({"tenant_id": TENANT, "authority": AUTHORITY, **extra}),
    )


def bc_connection(**extra: object) -> Connection:
    return Connection(
        conn_id="bc_test",
        conn_type="business_central",
        host=BC_URL,
        login=CLIENT_ID,
        password=CLIENT_SECRET,
        extra=json.dumps(
            {
                "tenant_id": TENANT,
                "authority": AUTHORITY,
                "environment": "production",
                "company_id": COMPANY,
                "custom_api": "bcsync/sync/v1.0",
                **extra,
            }
        ),
    )
