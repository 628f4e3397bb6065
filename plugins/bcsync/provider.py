"""bcsync as an Airflow provider: what Airflow's ProvidersManager reads through the
`apache_airflow_provider` entry point, above all the two connection types and their connection forms.

Airflow 3.3 builds the connection form (the UI's `/ui/connections/hook_meta`) from this data alone,
without importing the hooks: `conn-fields` become the extra fields, `ui-field-behaviour` hides and
relabels the standard ones. The hooks' `get_ui_field_behaviour` answers from the same data. Keep this
module free of heavy imports: every Airflow component loads it.
"""

from __future__ import annotations

import copy
from typing import Any

PACKAGE_NAME = "bcsync"
VERSION = "0.1.0"

DATAVERSE = "dataverse"
BUSINESS_CENTRAL = "business_central"


def _text(label: str, description: str) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": ["string", "null"]}}


def _number(label: str, description: str, kind: str = "integer") -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": [kind, "null"], "minimum": 1}}


_TENANT_ID = _text("Tenant ID", "Required. Directory (tenant) id or domain of the Entra ID application.")

# Extras both services read (bcsync.wire.connection.ServiceConnection); see docs/connections.md.
_COMMON_FIELDS: dict[str, dict[str, Any]] = {
    "authority": _text(
        "Token authority",
        "Default https://login.microsoftonline.com/<tenant id>; other clouds or a test IdP.",
    ),
    "scope": _text("Token scope", "Leave empty for the service's default (<service>/.default)."),
    "ca_bundle": _text(
        "CA bundle", "Path to a PEM file of the CAs to trust; replaces the system store for this connection."
    ),
    "page_size": _number(
        "Page size", "Rows per page (Prefer: odata.maxpagesize): Dataverse ≤ 5000, BC ≤ 20000. Default 5000."
    ),
    "timeout": _number(
        "Timeout (s)", "Seconds to connect and to wait for each response. Default 100.", "number"
    ),
    "max_retries": {
        "label": "Max retries",
        "description": "Retries of one request after 429/5xx/timeouts before the task fails. Default 5.",
        "schema": {"type": ["integer", "null"], "minimum": 0},
    },
}

CONNECTION_TYPES: list[dict[str, Any]] = [
    {
        "connection-type": DATAVERSE,
        "hook-class-name": "bcsync.hooks.dataverse.DataverseHook",
        "hook-name": "Microsoft Dataverse (Dynamics 365 Sales)",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port"],
            "relabeling": {"host": "Environment URL", "login": "Client ID", "password": "Client secret"},
            "placeholders": {"host": "https://ORG.crm.dynamics.com", "login": "application (client) id"},
        },
        "conn-fields": {
            "tenant_id": _TENANT_ID,
            "api_version": _text("Web API version", "Default v9.2."),
            **_COMMON_FIELDS,
            "max_concurrency": _number("Max concurrency", "Requests in flight per hook. Default 4."),
        },
    },
    {
        "connection-type": BUSINESS_CENTRAL,
        "hook-class-name": "bcsync.hooks.business_central.BusinessCentralHook",
        "hook-name": "Microsoft Dynamics 365 Business Central",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port"],
            "relabeling": {"host": "API host", "login": "Client ID", "password": "Client secret"},
            "placeholders": {
                "host": "https://api.businesscentral.dynamics.com",
                "login": "application (client) id",
            },
        },
        "conn-fields": {
            "tenant_id": _TENANT_ID,
            "environment": _text("Environment", "Required. BC environment name: production, sandbox, ..."),
            "company_id": _text("Company ID", "Required. Company GUID (GET .../api/v2.0/companies)."),
            "custom_api": _text(
                "Custom API", "publisher/group/version of bcsync's API pages, e.g. bcsync/sync/v1.0."
            ),
            "lcy_code": _text("Local currency (LCY)", "BC's local currency code. Default USD."),
            **_COMMON_FIELDS,
            "max_concurrency": _number(
                "Max concurrency", "Requests in flight per hook, at most 5. Default 5."
            ),
        },
    },
]


def get_provider_info() -> dict[str, Any]:
    """The provider info Airflow validates against its `provider_info.schema.json` and reads."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "bcsync: Business Central and Dataverse",
        "description": "Business Central <-> Dynamics 365 Sales (Dataverse) synchronization: hooks for both "
        "services' OData APIs, with Entra ID client-credentials auth.",
        "versions": [VERSION],
        "hook-class-names": [entry["hook-class-name"] for entry in CONNECTION_TYPES],
        "connection-types": copy.deepcopy(CONNECTION_TYPES),
    }


def ui_field_behaviour(conn_type: str) -> dict[str, Any]:
    """A connection type's `ui-field-behaviour` in the shape of a hook's `get_ui_field_behaviour`."""
    for entry in CONNECTION_TYPES:
        if entry["connection-type"] == conn_type:
            behaviour = entry["ui-field-behaviour"]
            return {
                "hidden_fields": list(behaviour["hidden-fields"]),
                "relabeling": dict(behaviour["relabeling"]),
                "placeholders": dict(behaviour["placeholders"]),
            }
    raise KeyError(f"bcsync has no connection type {conn_type!r}")
