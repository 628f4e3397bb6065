"""`bin/bcsync mappings validate` checks the names in the mappings against the services' metadata (the
local services here): a misspelled field is caught before a run, with the closest valid name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bcsync.cli import main
from bcsync_dev.sandbox_connections import sandbox_connections

EditMappings = Callable[..., Path]
CONNECTION_VARIABLES = ("AIRFLOW_CONN_DATAVERSE_DEFAULT", "AIRFLOW_CONN_BC_DEFAULT")


@pytest.fixture
def connected(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both Airflow Connections in the environment, pointing at the local services."""
    for variable, value in sandbox_connections(sandbox).items():
        monkeypatch.setenv(variable, value)


def field(mapping: dict[str, Any], caption: str) -> dict[str, Any]:
    return next(f for f in mapping["fields"] if f.get("bc_caption") == caption)


def misspell_customer_fields(mapping: dict[str, Any]) -> None:
    field(mapping, "Phone No.")["crm_field"] = "telephon1"
    field(mapping, "Address 2")["bc_field"] = "adressLine2"  # on the standard API v2.0
    field(mapping, "Fax No.")["bc_field"] = "faxNum"  # on bcsync's custom API route


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["mappings", "validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_shipped_mappings_name_only_what_the_services_have(connected, capsys):
    code, out, err = validate(capsys)

    assert (code, err) == (0, "")
    assert "Dataverse (connection dataverse_default): every table, entity set and field named" in out
    assert "Business Central (connection bc_default): every table, entity set and field named" in out


def test_misspelled_fields_are_named_with_file_mapping_field_and_the_closest_name(
    connected, capsys, tmp_path: Path, edit_mappings: EditMappings
):
    directory = edit_mappings(tmp_path / "mappings", {"CUSTOMER": misspell_customer_fields})
    customer = f"{directory / 'customer.yaml'}: mapping CUSTOMER"

    code, out, err = validate(capsys, str(directory))

    assert code == 1
    assert "13 mappings (11 jobs) are valid" in out  # the YAML itself is fine
    assert err.splitlines() == [
        "1 name not found in Dataverse (connection dataverse_default):",
        f"  {customer}: field 'Phone No.' (bc_field phoneNumber): crm_field: 'telephon1' is not an "
        "attribute of account in Dataverse; did you mean 'telephone1'?",
        "2 names not found in Business Central (connection bc_default):",
        f"  {customer}: field 'Address 2' (bc_field adressLine2): bc_field: 'adressLine2' is not a "
        "property of customers on BC's API v2.0; did you mean 'addressLine2'?",
        f"  {customer}: field 'Fax No.' (bc_field faxNum): bc_field: 'faxNum' is not a property of "
        "customers on BC's custom API; did you mean 'faxNo'?",
    ]


def test_table_and_entity_set_names_are_checked_too(
    connected, capsys, tmp_path: Path, edit_mappings: EditMappings
):
    def misspell_tables(mapping: dict[str, Any]) -> None:
        mapping["crm_entity_set"] = "acounts"
        mapping["bc_endpoint"]["entity_set"] = "customer"
        mapping["integration_table_filter"] = "statecode eq 0 and customertype eq 3"

    directory = edit_mappings(tmp_path / "mappings", {"CUSTOMER": misspell_tables})

    code, _, err = validate(capsys, str(directory))

    assert code == 1
    assert "mapping CUSTOMER: crm_entity_set: 'acounts' is not the entity set of account ('accounts')" in err
    assert (
        "mapping CUSTOMER: integration_table_filter: 'customertype' is not an attribute of account in "
        "Dataverse; did you mean 'customertypecode'?" in err
    )
    assert (
        "mapping CUSTOMER: bc_endpoint: entity set 'customer' is not on BC's API v2.0; "
        "did you mean 'customers'?" in err
    )


def test_without_connections_it_says_the_online_check_was_skipped_and_why(
    capsys, monkeypatch: pytest.MonkeyPatch
):
    for variable in CONNECTION_VARIABLES:
        monkeypatch.delenv(variable, raising=False)

    code, out, _ = validate(capsys)

    assert code == 0
    assert (
        "Dataverse (connection dataverse_default): names not checked online: "
        "AIRFLOW_CONN_DATAVERSE_DEFAULT is not set (--online looks the connection up in Airflow)"
    ) in out
    assert (
        "Business Central (connection bc_default): names not checked online: AIRFLOW_CONN_BC_DEFAULT" in out
    )


def test_offline_checks_the_yaml_only(connected, capsys):
    code, out, _ = validate(capsys, "--offline")

    assert code == 0
    assert out.count("names not checked online: --offline") == 2


def test_online_fails_when_a_service_cannot_be_asked(capsys, monkeypatch: pytest.MonkeyPatch):
    """Asked for explicitly, an online check that cannot run fails validate (here: no such connection)."""
    monkeypatch.setenv("AIRFLOW_CONN_DATAVERSE_DEFAULT", '{"conn_type": "dataverse", "host": "https://x"}')
    monkeypatch.setenv("AIRFLOW_CONN_BC_DEFAULT", '{"conn_type": "business_central"}')

    code, _, err = validate(capsys, "--online")

    assert code == 1
    assert (
        "Dataverse (connection dataverse_default): names not checked online: cannot read the metadata:" in err
    )
    assert (
        "Business Central (connection bc_default): names not checked online: cannot read the metadata:" in err
    )
