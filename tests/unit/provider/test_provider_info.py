"""`bcsync.provider.get_provider_info()`: what Airflow's ProvidersManager reads about bcsync, checked against
Airflow's own schemas and against the hooks it names."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from airflow.sdk import Connection

import bcsync
from bcsync.hooks import BusinessCentralHook, DataverseHook
from bcsync.provider import get_provider_info, ui_field_behaviour

INFO = get_provider_info()
CONNECTION_TYPES = {entry["connection-type"]: entry for entry in INFO["connection-types"]}
PLUGINS = Path(bcsync.__file__).resolve().parents[1]


def import_string(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def airflow_schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("airflow").joinpath(name).read_text(encoding="utf-8"))


def test_provider_info_passes_airflows_runtime_schema() -> None:
    jsonschema.validate(INFO, airflow_schema("provider_info.schema.json"))
    assert INFO["package-name"] == "bcsync"  # Airflow refuses a name other than the distribution's
    assert INFO["versions"] == ["0.1.0"]


@pytest.mark.parametrize("hook_class", [DataverseHook, BusinessCentralHook])
def test_each_hook_class_is_registered_under_its_own_connection_type(hook_class: type) -> None:
    name = f"{hook_class.__module__}.{hook_class.__qualname__}"
    entry = CONNECTION_TYPES[hook_class.conn_type]

    assert entry["hook-class-name"] == name and import_string(name) is hook_class
    assert entry["hook-name"] == hook_class.hook_name
    assert name in INFO["hook-class-names"]


def test_the_provider_names_exactly_the_two_hooks() -> None:
    assert set(CONNECTION_TYPES) == {"dataverse", "business_central"}
    assert len(INFO["hook-class-names"]) == 2


@pytest.mark.parametrize("hook_class", [DataverseHook, BusinessCentralHook])
def test_the_hooks_form_behaviour_is_the_providers(hook_class) -> None:
    behaviour = hook_class.get_ui_field_behaviour()

    jsonschema.validate(behaviour, airflow_schema("customized_form_field_behaviours.schema.json"))
    assert behaviour == ui_field_behaviour(hook_class.conn_type)
    assert behaviour["relabeling"]["login"] == "Client ID"
    assert {"schema", "port"} <= set(behaviour["hidden_fields"])


def test_the_bc_form_suggests_the_hooks_default_host() -> None:
    placeholders = CONNECTION_TYPES["business_central"]["ui-field-behaviour"]["placeholders"]

    assert placeholders["host"] == BusinessCentralHook.default_host


@pytest.mark.parametrize(
    ("conn_type", "fields"),
    [
        (
            "dataverse",
            {"tenant_id", "api_version", "authority", "scope", "ca_bundle", "page_size", "timeout"}
            | {"max_retries", "max_concurrency"},
        ),
        (
            "business_central",
            {"tenant_id", "environment", "company_id", "custom_api", "lcy_code", "authority", "scope"}
            | {"ca_bundle", "page_size", "timeout", "max_retries", "max_concurrency"},
        ),
    ],
)
def test_every_extra_the_hook_reads_is_a_form_field(conn_type: str, fields: set[str]) -> None:
    conn_fields = CONNECTION_TYPES[conn_type]["conn-fields"]

    assert set(conn_fields) == fields
    for name, field in conn_fields.items():
        assert field["label"] and field["description"], name
        assert "null" in field["schema"]["type"], f"{name} must be optional in the form"


@pytest.mark.parametrize("hook_class", [DataverseHook, BusinessCentralHook])
def test_a_connection_saved_from_the_form_with_empty_optional_fields_works(hook_class) -> None:
    """The form stores every field it shows, empty ones as null: the hook must read those as absent."""
    required = {"tenant_id": "t-1", "environment": "production", "company_id": "c-1"}
    extra = {name: required.get(name) for name in CONNECTION_TYPES[hook_class.conn_type]["conn-fields"]}
    connection = Connection(
        conn_id="from_form",
        conn_type=hook_class.conn_type,
        host="https://service.example",
        login="client",
        password="secret",
        extra=json.dumps(extra),
    )

    hook = hook_class.from_connection(connection)

    assert hook.settings.tenant_id == "t-1" and hook.settings.max_retries == 5
    assert hook.service_root().startswith("https://service.example/")
    assert hook.concurrency == hook_class.default_concurrency


def test_the_provider_module_imports_nothing_heavy() -> None:
    """Every Airflow component loads the provider info; it must not pull in pandas or the hooks."""
    probe = (
        "import sys, bcsync.provider; "
        "print(sorted(m for m in ('pandas', 'requests', 'msal', 'bcsync.hooks') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(PLUGINS)},
    )

    assert loaded.stdout.strip() == "[]"
