"""The connection form in the real Airflow API server: bcsync, installed as a provider, adds the Dataverse
and Business Central connection types with their fields to what the UI's connection form is built from
(`GET /ui/connections/hook_meta`, the private UI API the form calls)."""

from __future__ import annotations

from typing import Any

import pytest
from airflow_api import AirflowApi
from e2e_stack import AirflowStack

pytestmark = pytest.mark.e2e


def hook_meta(api: AirflowApi) -> dict[str, dict[str, Any]]:
    """The UI's connection-type metadata, by connection type."""
    if "Authorization" not in api.session.headers:
        api.authenticate()
    response = api.session.get(f"{api.base_url}/ui/connections/hook_meta", timeout=api.timeout)
    assert response.ok, f"{response.status_code}: {response.text[:500]}"
    return {entry["connection_type"]: entry for entry in response.json()}


@pytest.fixture(scope="module")
def connection_types(airflow_stack: AirflowStack) -> dict[str, dict[str, Any]]:
    return hook_meta(airflow_stack.api)


def test_dataverse_connections_have_their_own_form(connection_types) -> None:
    form = connection_types["dataverse"]

    assert form["hook_class_name"] == "bcsync.hooks.dataverse.DataverseHook"
    assert form["hook_name"] == "Microsoft Dataverse (Dynamics 365 Sales)"
    standard = form["standard_fields"]
    assert standard["host"]["title"] == "Environment URL"
    assert standard["host"]["placeholder"] == "https://ORG.crm.dynamics.com"
    assert (standard["login"]["title"], standard["password"]["title"]) == ("Client ID", "Client secret")
    assert standard["port"]["hidden"] and standard["url_schema"]["hidden"]
    extra = form["extra_fields"]
    assert {"tenant_id", "api_version", "scope", "ca_bundle", "max_concurrency"} <= set(extra)
    assert extra["tenant_id"]["schema"]["title"] == "Tenant ID"
    assert extra["page_size"]["schema"]["type"] == ["integer", "null"]


def test_business_central_connections_have_their_own_form(connection_types) -> None:
    form = connection_types["business_central"]

    assert form["hook_class_name"] == "bcsync.hooks.business_central.BusinessCentralHook"
    assert form["hook_name"] == "Microsoft Dynamics 365 Business Central"
    standard = form["standard_fields"]
    assert standard["host"]["title"] == "API host"
    assert standard["host"]["placeholder"] == "https://api.businesscentral.dynamics.com"
    assert standard["login"]["title"] == "Client ID" and standard["port"]["hidden"]
    extra = form["extra_fields"]
    assert {"tenant_id", "environment", "company_id", "custom_api", "ca_bundle"} <= set(extra)
    assert "api_version" not in extra  # a Dataverse setting only
    assert extra["company_id"]["schema"]["title"] == "Company ID"
    assert extra["timeout"]["schema"]["type"] == ["number", "null"]
