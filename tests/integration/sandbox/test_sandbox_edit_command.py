"""`bin/sandbox edit|delete`: a user's edit in BC or Sales, seen through the services' own APIs afterwards,
with the modified-on timestamp moved (so change tracking and bcsync's watermarks pick it up)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
import requests
from sandbox_data import sandbox_cli

from sandbox.launcher import RunningSandbox


@pytest.fixture
def bc(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


@pytest.fixture
def dataverse(sandbox: RunningSandbox, dataverse_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, dataverse_token)


def _one(session: requests.Session, url: str, **params: str) -> list[dict[str, Any]]:
    response = session.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_new_currency_gets_an_exchange_rate_as_the_readme_walkthrough_does(
    sandbox: RunningSandbox, bc: requests.Session
):
    code = f"Q{uuid.uuid4().hex[:4].upper()}"
    created = sandbox_cli(sandbox, "edit", "bc", "currency", "new", f"code={code}", "displayName=Edit test")
    assert created.returncode == 0, created.stderr
    rate = sandbox_cli(
        sandbox,
        "edit",
        "bc",
        "currencyExchangeRate",
        "new",
        f"currencyCode={code}",
        "startingDate=2026-01-01",
        "exchangeRateAmount=100",
        "relationalExchangeRateAmount=112.5",
    )
    assert rate.returncode == 0, rate.stderr

    rates = _one(
        bc, f"{sandbox.bc_company_url}/currencyExchangeRates", **{"$filter": f"currencyCode eq '{code}'"}
    )
    assert [
        (r["startingDate"], r["exchangeRateAmount"], r["relationalExchangeRateAmount"]) for r in rates
    ] == [("2026-01-01", 100, 112.5)]


def test_editing_a_bc_customer_by_number_moves_its_last_modified_time(
    sandbox: RunningSandbox, bc: requests.Session
):
    url = f"{sandbox.bc_company_url}/customers"
    number = _one(bc, url, **{"$top": "1", "$orderby": "number desc"})[0]["number"]
    (before,) = _one(bc, url, **{"$filter": f"number eq '{number}'"})

    result = sandbox_cli(
        sandbox, "edit", "bc", "customers", number, "displayName=Renamed in BC", "creditLimit=2500"
    )

    assert result.returncode == 0, result.stderr
    (after,) = _one(bc, url, **{"$filter": f"number eq '{number}'"})
    assert (after["displayName"], after["creditLimit"]) == ("Renamed in BC", 2500)
    assert _when(after["lastModifiedDateTime"]) > _when(before["lastModifiedDateTime"])
    assert after["@odata.etag"] != before["@odata.etag"]


def test_editing_and_deleting_a_sales_account_by_id(sandbox: RunningSandbox, dataverse: requests.Session):
    url = f"{sandbox.dataverse_api}/accounts"
    account = _one(dataverse, url, **{"$top": "1", "$select": "accountid,name,modifiedon"})[0]
    key = account["accountid"]

    edited = sandbox_cli(sandbox, "edit", "dataverse", "account", key, "name=Renamed in Sales")
    assert edited.returncode == 0, edited.stderr
    after = dataverse.get(f"{url}({key})", params={"$select": "name,modifiedon"}).json()
    assert after["name"] == "Renamed in Sales"
    assert _when(after["modifiedon"]) > _when(account["modifiedon"])

    deleted = sandbox_cli(sandbox, "delete", "dataverse", "accounts", "name:Renamed in Sales")
    assert deleted.returncode == 0, deleted.stderr
    assert dataverse.get(f"{url}({key})").status_code == 404


def test_a_wrong_table_field_record_or_value_is_refused_with_the_reason(sandbox: RunningSandbox):
    cases = {
        ("edit", "bc", "customerz", "C00001", "displayName=x"): "bc has no table 'customerz'",
        ("edit", "bc", "customer", "C00001", "colour=red"): "customer has no field 'colour'",
        (
            "edit",
            "bc",
            "customer",
            "NO-SUCH",
            "displayName=x",
        ): "no customer with number or displayName 'NO-SUCH'",
        ("edit", "bc", "customer", "C00001", "creditLimit=lots"): "creditLimit: 'lots' is not a decimal",
        ("delete", "sap", "customer", "C00001"): "unknown service 'sap'",
    }
    for args, reason in cases.items():
        result = sandbox_cli(sandbox, *args)
        assert result.returncode == 2, (args, result.stdout)
        assert reason in result.stderr, (args, result.stderr)
