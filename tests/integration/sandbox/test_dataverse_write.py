"""Dataverse writes over HTTPS: create, update, upsert with If-Match/If-None-Match, delete, @odata.bind."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from sandbox.launcher import RunningSandbox

Api = tuple[requests.Session, str]


@pytest.fixture
def api(sandbox: RunningSandbox, dataverse_token: str, new_session: Any) -> Api:
    return new_session(sandbox.ca_file, dataverse_token), sandbox.dataverse_api + "/"


def _created_id(response: requests.Response) -> str:
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_create_answers_204_with_the_entity_url(api: Api) -> None:
    session, root = api
    response = session.post(root + "accounts", json={"name": "Fabrikam"})
    assert response.status_code == 204
    assert response.content == b""
    entity_url = response.headers["OData-EntityId"]
    assert entity_url.startswith(root + "accounts(")
    assert session.get(entity_url + "?$select=name").json()["name"] == "Fabrikam"


def test_create_with_return_representation_answers_201_with_the_record(api: Api) -> None:
    session, root = api
    response = session.post(
        root + "accounts?$select=name,createdon",
        json={"name": "Contoso"},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Contoso" and body["createdon"].endswith("Z")
    assert body["@odata.etag"].startswith('W/"')
    assert "OData-EntityId" not in response.headers


def test_client_supplied_primary_key_and_duplicate_is_412(api: Api) -> None:
    session, root = api
    key = str(uuid.uuid4())
    assert session.post(root + "accounts", json={"accountid": key, "name": "Mine"}).status_code == 204
    assert session.get(root + f"accounts({key})?$select=name").json()["name"] == "Mine"
    again = session.post(root + "accounts", json={"accountid": key, "name": "Again"})
    assert again.status_code == 412
    assert again.json()["error"] == {
        "code": "0x80040237",
        "message": "A record with matching key values already exists.",
    }


def test_writes_record_the_application_user_and_change_the_etag(api: Api) -> None:
    session, root = api
    user = session.get(root + "WhoAmI").json()["UserId"]
    account = _created_id(session.post(root + "accounts", json={"name": "Audit"}))
    before = session.get(
        root + f"accounts({account})?$select=_createdby_value,_modifiedby_value,versionnumber"
    ).json()
    assert before["_createdby_value"] == before["_modifiedby_value"] == user
    assert session.patch(root + f"accounts({account})", json={"telephone1": "555"}).status_code == 204
    after = session.get(root + f"accounts({account})?$select=telephone1,versionnumber").json()
    assert after["telephone1"] == "555"
    assert after["@odata.etag"] != before["@odata.etag"]
    assert after["versionnumber"] > before["versionnumber"]


def test_update_with_stale_etag_is_412_and_current_etag_succeeds(api: Api) -> None:
    session, root = api
    account = _created_id(session.post(root + "accounts", json={"name": "Etag"}))
    stale = session.get(root + f"accounts({account})?$select=name").json()["@odata.etag"]
    session.patch(root + f"accounts({account})", json={"name": "Etag 2"})
    conflict = session.patch(
        root + f"accounts({account})", json={"name": "lost"}, headers={"If-Match": stale}
    )
    assert conflict.status_code == 412
    assert conflict.json()["error"]["message"] == (
        "The version of the existing record doesn't match the RowVersion property provided."
    )
    current = session.get(root + f"accounts({account})?$select=name").json()["@odata.etag"]
    ok = session.patch(root + f"accounts({account})", json={"name": "kept"}, headers={"If-Match": current})
    assert ok.status_code == 204


def test_patch_to_a_missing_key_creates_unless_if_match_star(api: Api) -> None:
    session, root = api
    missing = str(uuid.uuid4())
    refused = session.patch(root + f"accounts({missing})", json={"name": "x"}, headers={"If-Match": "*"})
    assert refused.status_code == 404
    assert f"With Id = {missing} Does Not Exist" in refused.json()["error"]["message"]
    created = session.patch(root + f"accounts({missing})", json={"name": "Upserted"})
    assert created.status_code == 204
    assert created.headers["OData-EntityId"].endswith(f"accounts({missing})")
    updated = session.patch(
        root + f"accounts({missing})", json={"name": "Again"}, headers={"Prefer": "return=representation"}
    )
    assert updated.status_code == 200 and updated.json()["name"] == "Again"


def test_if_none_match_star_refuses_an_existing_record(api: Api) -> None:
    session, root = api
    account = _created_id(session.post(root + "accounts", json={"name": "Exists"}))
    response = session.patch(
        root + f"accounts({account})", json={"name": "x"}, headers={"If-None-Match": "*"}
    )
    assert response.status_code == 412
    assert response.json()["error"]["message"] == "A record with matching key values already exists."
    fresh = str(uuid.uuid4())
    created = session.patch(
        root + f"accounts({fresh})",
        json={"name": "New"},
        headers={"If-None-Match": "*", "Prefer": "return=representation"},
    )
    assert created.status_code == 201


def test_delete_with_if_match_and_then_404(api: Api) -> None:
    session, root = api
    account = _created_id(session.post(root + "accounts", json={"name": "Gone"}))
    assert session.delete(root + f"accounts({account})", headers={"If-Match": 'W/"1"'}).status_code == 412
    assert session.delete(root + f"accounts({account})").status_code == 204
    assert session.get(root + f"accounts({account})").status_code == 404
    assert session.delete(root + f"accounts({account})").status_code == 404


def test_bind_sets_lookups_by_primary_key_url(api: Api) -> None:
    session, root = api
    account = _created_id(session.post(root + "accounts", json={"name": "Parent"}))
    body = {"lastname": "Child", "parentcustomerid_account@odata.bind": f"{root}accounts({account})"}
    contact = _created_id(session.post(root + "contacts", json=body))
    row = session.get(root + f"contacts({contact})?$select=_parentcustomerid_value").json()
    assert row["_parentcustomerid_value"] == account
    link = session.patch(
        root + f"accounts({account})", json={"primarycontactid@odata.bind": f"/contacts({contact})"}
    )
    assert link.status_code == 204
    assert (
        session.get(root + f"accounts({account})?$select=_primarycontactid_value").json()[
            "_primarycontactid_value"
        ]
        == contact
    )


def test_bind_to_a_missing_record_is_404_and_to_an_unknown_property_400(api: Api) -> None:
    session, root = api
    missing = str(uuid.uuid4())
    response = session.post(
        root + "contacts",
        json={"lastname": "x", "parentcustomerid_account@odata.bind": f"/accounts({missing})"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"Entity 'account' With Id = {missing} Does Not Exist"
    unknown = session.post(
        root + "contacts", json={"lastname": "x", "nosuchnav@odata.bind": f"/accounts({missing})"}
    )
    assert unknown.status_code == 400
    assert "undeclared property 'nosuchnav'" in unknown.json()["error"]["message"]


def test_lookup_value_columns_cannot_be_written_directly(api: Api) -> None:
    session, root = api
    response = session.post(
        root + "contacts", json={"lastname": "x", "_parentcustomerid_value": str(uuid.uuid4())}
    )
    assert response.status_code == 400
    assert "Use Navigation properties instead" in response.json()["error"]["message"]


def test_required_columns_of_transactioncurrency(api: Api) -> None:
    session, root = api
    response = session.post(
        root + "transactioncurrencies", json={"currencyname": "Krone", "isocurrencycode": "DKX"}
    )
    assert response.status_code == 400
    assert "currencysymbol" in response.json()["error"]["message"]
    out_of_range = {
        "currencyname": "Krone",
        "isocurrencycode": "DKX",
        "currencysymbol": "kr",
        "currencyprecision": 11,
        "exchangerate": 7.4,
    }
    assert session.post(root + "transactioncurrencies", json=out_of_range).status_code == 400
    valid = {**out_of_range, "currencyprecision": 2}
    assert session.post(root + "transactioncurrencies", json=valid).status_code == 204


def test_account_takes_the_exchange_rate_of_its_currency(api: Api) -> None:
    session, root = api
    currency = {
        "currencyname": "Rate test",
        "isocurrencycode": "RTX",
        "currencysymbol": "R",
        "currencyprecision": 2,
        "exchangerate": 1.25,
    }
    currency_id = _created_id(session.post(root + "transactioncurrencies", json=currency))
    account = session.post(
        root + "accounts?$select=exchangerate,_transactioncurrencyid_value",
        json={"name": "FX", "transactioncurrencyid@odata.bind": f"/transactioncurrencies({currency_id})"},
        headers={"Prefer": "return=representation"},
    ).json()
    assert account["exchangerate"] == 1.25
    assert account["_transactioncurrencyid_value"] == currency_id
