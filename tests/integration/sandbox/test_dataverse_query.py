"""Dataverse reads over HTTPS: envelope, $select/$filter/$orderby/$top/$count/$expand and paging."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from sandbox.launcher import RunningSandbox


@pytest.fixture
def api(sandbox: RunningSandbox, dataverse_token: str, new_session: Any) -> tuple[requests.Session, str]:
    return new_session(sandbox.ca_file, dataverse_token), sandbox.dataverse_api + "/"


@pytest.fixture
def tagged_accounts(api: tuple[requests.Session, str]) -> tuple[str, list[str]]:
    """Seven accounts whose names share a fresh tag (so queries can isolate them)."""
    session, root = api
    tag = uuid.uuid4().hex[:8]
    ids = []
    for index in range(7):
        body = {
            "name": f"{tag} O'Bryan {index}",
            "accountnumber": f"{tag[:4]}-{index}",
            "creditlimit": index * 100,
        }
        response = session.post(root + "accounts", json=body)
        assert response.status_code == 204, response.text
        ids.append(response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")"))
    return tag, ids


def test_service_document_lists_every_entity_set(api: tuple[requests.Session, str]) -> None:
    session, root = api
    response = session.get(root)
    assert response.status_code == 200
    names = {entry["name"] for entry in response.json()["value"]}
    expected = {
        "accounts",
        "contacts",
        "transactioncurrencies",
        "systemusers",
        "uomschedules",
        "uoms",
        "products",
    }
    assert expected | {"pricelevels", "productpricelevels", "invoices", "invoicedetails"} <= names
    assert "nav_accountstatisticses" in names
    assert all(entry["kind"] == "EntitySet" for entry in response.json()["value"])


def test_whoami_names_the_application_user_and_hints_parallelism(api: tuple[requests.Session, str]) -> None:
    session, root = api
    response = session.get(root + "WhoAmI")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"UserId", "BusinessUnitId", "OrganizationId"}
    assert response.headers["x-ms-dop-hint"].isdigit()
    user = session.get(root + f"systemusers({body['UserId']})?$select=applicationid").json()
    assert user["applicationid"]


def test_select_returns_envelope_etag_and_always_the_primary_key(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    tag, _ = tagged_accounts
    response = session.get(root + f"accounts?$select=name&$filter=startswith(name,'{tag}')")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("/$metadata#accounts(name)")
    first = body["value"][0]
    assert set(first) == {"@odata.etag", "accountid", "name"}
    assert first["@odata.etag"].startswith('W/"')


def test_lookup_columns_are_read_as_underscore_value(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    _, ids = tagged_accounts
    body = session.get(
        root + f"accounts({ids[0]})?$select=_ownerid_value,_transactioncurrencyid_value"
    ).json()
    assert "_ownerid_value" in body and "_transactioncurrencyid_value" in body
    whoami = session.get(root + "WhoAmI").json()
    assert body["_ownerid_value"] == whoami["UserId"]  # writes are attributed to the application user


def test_filter_with_doubled_quotes_and_case_insensitive_text(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    tag, _ = tagged_accounts
    response = session.get(root + f"accounts?$select=name&$filter=name eq '{tag.upper()} o''bryan 3'")
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["value"]] == [f"{tag} O'Bryan 3"]


def test_filter_logic_and_comparisons_orderby_and_top(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    tag, _ = tagged_accounts
    query = (
        f"accounts?$select=name,creditlimit&$filter=contains(name,'{tag}') and "
        "(creditlimit ge 200 or creditlimit eq 0) and not (creditlimit eq 600)"
        "&$orderby=creditlimit desc&$top=3"
    )
    response = session.get(root + query)
    assert response.status_code == 200
    assert [row["creditlimit"] for row in response.json()["value"]] == [500, 400, 300]
    assert "@odata.nextLink" not in response.json()


def test_unquoted_datetime_filter_on_modifiedon(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    tag, _ = tagged_accounts
    newer = session.get(
        root
        + f"accounts?$select=name&$filter=modifiedon gt 2000-01-01T00:00:00Z and startswith(name,'{tag}')"
    )
    older = session.get(
        root
        + f"accounts?$select=name&$filter=modifiedon lt 2000-01-01T00:00:00Z and startswith(name,'{tag}')"
    )
    assert len(newer.json()["value"]) == 7
    assert older.json()["value"] == []


def test_maxpagesize_pages_with_opaque_next_links_and_ignores_top(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    tag, ids = tagged_accounts
    headers = {"Prefer": "odata.maxpagesize=3"}
    url = root + f"accounts?$select=name&$filter=startswith(name,'{tag}')&$top=1"
    seen: list[str] = []
    pages = 0
    while url:
        response = session.get(url, headers=headers)
        assert response.status_code == 200
        assert response.headers["Preference-Applied"] == "odata.maxpagesize=3"
        body = response.json()
        seen += [row["accountid"] for row in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            assert "$skiptoken=" in url and url.startswith("https://")
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(ids)


def test_count_option_and_count_segment(api: tuple[requests.Session, str], tagged_accounts: Any) -> None:
    session, root = api
    tag, _ = tagged_accounts
    body = session.get(
        root + f"accounts?$select=name&$filter=startswith(name,'{tag}')&$count=true&$top=2"
    ).json()
    assert body["@odata.count"] == 7
    assert len(body["value"]) == 2
    response = session.get(root + f"accounts/$count?$filter=startswith(name,'{tag}')")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "7"


def test_expand_single_valued_lookup_with_nested_select(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    _, ids = tagged_accounts
    contact = {
        "firstname": "Ann",
        "lastname": "Lee",
        "parentcustomerid_account@odata.bind": f"/accounts({ids[0]})",
    }
    created = session.post(root + "contacts", json=contact, headers={"Prefer": "return=representation"})
    assert created.status_code == 201
    contact_id = created.json()["contactid"]
    body = session.get(
        root + f"contacts({contact_id})?$select=fullname&$expand=parentcustomerid_account($select=name)"
    ).json()
    assert body["fullname"] == "Ann Lee"
    assert body["parentcustomerid_account"]["accountid"] == ids[0]
    assert set(body["parentcustomerid_account"]) == {"@odata.etag", "accountid", "name"}
    assert "parentcustomerid_contact" not in body


def test_expand_collection_navigation(api: tuple[requests.Session, str], tagged_accounts: Any) -> None:
    session, root = api
    _, ids = tagged_accounts
    for name in ("Bo", "Cy"):
        bind = {"lastname": name, "parentcustomerid_account@odata.bind": f"accounts({ids[1]})"}
        assert session.post(root + "contacts", json=bind).status_code == 204
    body = session.get(
        root + f"accounts({ids[1]})?$select=name"
        "&$expand=contact_customer_accounts($select=lastname;$orderby=lastname)"
    ).json()
    assert [c["lastname"] for c in body["contact_customer_accounts"]] == ["Bo", "Cy"]


def test_formatted_value_annotations_on_request(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    _, ids = tagged_accounts
    headers = {"Prefer": 'odata.include-annotations="*"'}
    body = session.get(root + f"accounts({ids[2]})?$select=statecode,_ownerid_value", headers=headers).json()
    assert body["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"
    assert body["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"


def test_if_none_match_returns_304_for_an_unchanged_record(
    api: tuple[requests.Session, str], tagged_accounts: Any
) -> None:
    session, root = api
    _, ids = tagged_accounts
    first = session.get(root + f"accounts({ids[3]})?$select=name")
    again = session.get(
        root + f"accounts({ids[3]})?$select=name", headers={"If-None-Match": first.json()["@odata.etag"]}
    )
    assert again.status_code == 304
