"""Dataverse error answers: status, hex code and message for bad queries, keys, sizes and routes."""

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


def _error(response: requests.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def test_bad_filter_syntax_is_400(api: Api) -> None:
    session, root = api
    response = session.get(root + "accounts?$filter=name eqq 'x'")
    assert response.status_code == 400
    assert _error(response)["code"] == "0x80060888"


def test_unknown_column_names_the_crm_type(api: Api) -> None:
    session, root = api
    for url in ("accounts?$select=nosuch", "accounts?$filter=nosuch eq 1", "accounts?$orderby=nosuch"):
        response = session.get(root + url)
        assert response.status_code == 400, url
        assert _error(response)["message"] == (
            "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.account'."
        )
    write = session.post(root + "accounts", json={"name": "x", "nosuch": 1})
    assert write.status_code == 400
    assert "'nosuch'" in _error(write)["message"]


@pytest.mark.parametrize("option", ["$skip=1", "$search=x", "$format=json"])
def test_unsupported_query_options_are_rejected(api: Api, option: str) -> None:
    session, root = api
    response = session.get(root + f"accounts?{option}")
    assert response.status_code == 400
    assert _error(response)["message"] == f"The query parameter {option.split('=')[0]} is not supported"


@pytest.mark.parametrize("option", ["sql=SELECT name FROM account", "utm_source=x", "annotations=true"])
def test_unknown_custom_query_options_are_rejected_not_ignored(api: Api, option: str) -> None:
    session, root = api
    name = option.split("=")[0]
    for response in (
        session.get(root + f"accounts?{option}"),
        session.get(root + f"accounts/$count?{option}"),
        session.post(root + f"accounts?{option}", json={"name": "must not be created"}),
    ):
        assert response.status_code == 400
        message = f"The query parameter {name} is not supported"
        assert _error(response) == {"code": "0x80060888", "message": message}
    assert session.get(root + "accounts?$filter=name eq 'must not be created'").json()["value"] == []


@pytest.mark.parametrize("option", ["fetchXml", "savedQuery", "userQuery"])
def test_stored_and_fetchxml_queries_are_refused_as_not_implemented(api: Api, option: str) -> None:
    session, root = api
    fetch = "<fetch top='1'><entity name='account'><attribute name='name'/></entity></fetch>"
    value = fetch if option == "fetchXml" else str(uuid.uuid4())
    response = session.get(root + "accounts", params={option: value})
    assert response.status_code == 501
    assert _error(response) == {
        "code": "0x8004800d",
        "message": f"The query parameter {option} is not supported by the sandbox",
    }


def test_tag_for_plug_ins_and_parameter_aliases_are_accepted(api: Api) -> None:
    session, root = api
    response = session.get(root + "accounts?$select=name&$top=1&$filter=name ne @n&@n='x'&tag=from-tests")
    assert response.status_code == 200
    assert len(response.json()["value"]) == 1


def test_string_longer_than_max_length_is_0x80044331(api: Api) -> None:
    session, root = api
    response = session.post(root + "accounts", json={"name": "n" * 161})
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "0x80044331"
    assert (
        "'name' attribute of the 'account' entity exceeded the maximum allowed length of '160'"
        in error["message"]
    )


def test_page_size_over_5000_is_413(api: Api) -> None:
    session, root = api
    response = session.get(root + "accounts?$select=name", headers={"Prefer": "odata.maxpagesize=5001"})
    assert response.status_code == 413
    assert "5000" in _error(response)["message"]


def test_unknown_record_is_404_with_the_dataverse_message(api: Api) -> None:
    session, root = api
    missing = str(uuid.uuid4())
    response = session.get(root + f"accounts({missing})")
    assert response.status_code == 404
    assert _error(response) == {
        "code": "0x80040217",
        "message": f"Entity 'account' With Id = {missing} Does Not Exist",
    }


def test_unknown_entity_set_and_unimplemented_routes_never_answer_200(api: Api) -> None:
    session, root = api
    unknown = session.get(root + "widgets")
    assert unknown.status_code == 404
    assert _error(unknown)["message"] == "Resource not found for the segment 'widgets'."
    assert session.get(root + "accounts/Microsoft.Dynamics.CRM.NoSuchAction").status_code == 404
    assert session.get(root.replace("/api/data/v9.2/", "/api/data/v9.1/") + "accounts").status_code == 404
    assert session.put(root + "accounts", json={}).status_code == 405


def test_alternate_key_urls_only_for_declared_keys(api: Api) -> None:
    session, root = api
    response = session.get(root + "accounts(accountnumber='A-1')")
    assert response.status_code == 400
    assert _error(response)["message"].startswith(
        "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.account'."
    )
    whoami = session.get(root + "WhoAmI").json()["UserId"]
    named = session.get(root + f"systemusers(systemuserid={whoami})")
    assert named.status_code == 400  # principal-derived tables take only the bare GUID form
    assert session.get(root + f"systemusers({whoami})").status_code == 200


def test_garbage_skiptoken_is_400(api: Api) -> None:
    session, root = api
    response = session.get(root + "accounts?$skiptoken=garbage", headers={"Prefer": "odata.maxpagesize=2"})
    assert response.status_code == 400
    assert _error(response)["code"]


def test_bulk_delete_is_refused_as_not_supported_not_as_a_missing_route(api: Api) -> None:
    session, root = api
    response = session.post(root + "BulkDelete", json={"JobName": "x", "QuerySet": []})
    assert response.status_code == 501
    assert _error(response) == {
        "code": "0x8004800d",
        "message": "The message BulkDelete is not supported by the sandbox.",
    }
