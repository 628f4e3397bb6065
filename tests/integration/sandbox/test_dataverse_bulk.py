"""Dataverse bulk messages and alternate keys, against a sandbox whose account has an accountnumber key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.launcher import RunningSandbox, running_sandbox

Api = tuple[requests.Session, str]
ACCOUNT = "Microsoft.Dynamics.CRM.account"
KEYS = {"account": {"accountnumber_key": ["accountnumber"]}}


@pytest.fixture(scope="module")
def keyed_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    env = {"SANDBOX_DATAVERSE_ALTERNATE_KEYS": json.dumps(KEYS)}
    with running_sandbox(tmp_path_factory.mktemp("keyed"), env=env, seed_customers=5) as running:
        yield running


@pytest.fixture
def api(keyed_sandbox: RunningSandbox, new_session: Any) -> Api:
    token = keyed_sandbox.token(keyed_sandbox.dataverse_scope)
    return new_session(keyed_sandbox.ca_file, token), keyed_sandbox.dataverse_api + "/"


def _accounts(session: requests.Session, root: str, tag: str) -> list[dict[str, Any]]:
    query = {
        "$select": "name,accountnumber",
        "$filter": f"startswith(accountnumber,'{tag}')",
        "$orderby": "accountnumber",
    }
    return session.get(root + "accounts", params=query).json()["value"]


def test_probe_reports_bulk_support_per_table(api: Api) -> None:
    session, root = api
    probe = (
        "sdkmessagefilters?$select=sdkmessagefilterid&$filter=sdkmessageid/name eq @message and "
        "primaryobjecttypecode eq @table&@message='{message}'&@table='{table}'"
    )
    for message in ("CreateMultiple", "UpdateMultiple"):
        assert session.get(root + probe.format(message=message, table="account")).json()["value"]
        assert session.get(root + probe.format(message=message, table="invoice")).json()["value"] == []


def test_create_multiple_returns_ids_in_order(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:6]
    targets = [{"@odata.type": ACCOUNT, "name": f"bulk {i}", "accountnumber": f"{tag}{i}"} for i in range(3)]
    response = session.post(
        root + "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse")
    stored = {row["accountid"]: row["accountnumber"] for row in _accounts(session, root, tag)}
    assert [stored[key] for key in body["Ids"]] == [f"{tag}0", f"{tag}1", f"{tag}2"]


def test_bulk_requires_odata_type_and_is_all_or_nothing(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:6]
    untyped = session.post(
        root + "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"accountnumber": f"{tag}0"}]},
    )
    assert untyped.status_code == 400
    assert "@odata.type" in untyped.json()["error"]["message"]
    targets = [
        {"@odata.type": ACCOUNT, "accountnumber": f"{tag}1", "name": "fine"},
        {"@odata.type": ACCOUNT, "accountnumber": f"{tag}2", "name": "n" * 161},
    ]
    failed = session.post(root + "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert failed.status_code == 400
    assert _accounts(session, root, tag) == []


def test_update_multiple_applies_the_first_of_duplicate_targets(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:6]
    ids = session.post(
        root + "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"@odata.type": ACCOUNT, "accountnumber": f"{tag}{i}"} for i in range(2)]},
    ).json()["Ids"]
    targets = [
        {"@odata.type": ACCOUNT, "accountid": ids[0], "name": "first"},
        {"@odata.type": ACCOUNT, "accountid": ids[0], "name": "ignored"},
        {"@odata.type": ACCOUNT, "accountid": ids[1], "name": "second"},
    ]
    response = session.post(
        root + "accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": targets}
    )
    assert response.status_code == 204
    assert [row["name"] for row in _accounts(session, root, tag)] == ["first", "second"]


def test_upsert_multiple_by_alternate_key_and_primary_key(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:6]
    existing = session.post(root + "accounts", json={"accountnumber": f"{tag}0", "name": "old"})
    existing_id = existing.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    new_id = str(uuid.uuid4())
    targets = [
        {"@odata.type": ACCOUNT, "@odata.id": f"accounts(accountnumber='{tag}0')", "name": "updated"},
        {"@odata.type": ACCOUNT, "@odata.id": f"accounts(accountnumber='{tag}1')", "name": "created"},
        {"@odata.type": ACCOUNT, "accountid": new_id, "accountnumber": f"{tag}2", "name": "by key"},
    ]
    response = session.post(
        root + "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets}
    )
    assert response.status_code == 204
    rows = _accounts(session, root, tag)
    assert [(row["accountnumber"], row["name"]) for row in rows] == [
        (f"{tag}0", "updated"),
        (f"{tag}1", "created"),
        (f"{tag}2", "by key"),
    ]
    assert rows[0]["accountid"] == existing_id and rows[2]["accountid"] == new_id


def test_upsert_multiple_rejects_duplicate_keys(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:6]
    target = {"@odata.type": ACCOUNT, "@odata.id": f"accounts(accountnumber='{tag}0')", "name": "x"}
    response = session.post(
        root + "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": [target, target]}
    )
    assert response.status_code == 400
    assert _accounts(session, root, tag) == []


def test_tables_outside_the_bulk_set_refuse_bulk_messages(api: Api) -> None:
    session, root = api
    target = {"@odata.type": "Microsoft.Dynamics.CRM.invoice", "name": "INV"}
    response = session.post(
        root + "invoices/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [target]}
    )
    assert response.status_code == 400
    assert "does not support entities of type 'invoice'" in response.json()["error"]["message"]


def test_alternate_key_urls_read_upsert_and_bind(api: Api) -> None:
    session, root = api
    number = uuid.uuid4().hex[:8]
    created = session.patch(root + f"accounts(accountnumber='{number}')", json={"name": "Keyed"})
    assert created.status_code == 204
    read = session.get(root + f"accounts(accountnumber='{number}')?$select=name,accountnumber").json()
    assert (read["name"], read["accountnumber"]) == ("Keyed", number)
    updated = session.patch(
        root + f"accounts(accountnumber='{number}')", json={"name": "Keyed 2"}, headers={"If-Match": "*"}
    )
    assert updated.status_code == 204
    contact = session.post(
        root + "contacts?$select=_parentcustomerid_value",
        json={
            "lastname": "Bound",
            "parentcustomerid_account@odata.bind": f"/accounts(accountnumber='{number}')",
        },
        headers={"Prefer": "return=representation"},
    ).json()
    assert contact["_parentcustomerid_value"] == read["accountid"]
    duplicate = session.post(root + "accounts", json={"name": "dup", "accountnumber": number})
    assert duplicate.status_code == 412


def test_counts_are_capped_at_5000(api: Api) -> None:
    session, root = api
    statistics = "Microsoft.Dynamics.CRM.nav_accountstatistics"
    for start in range(0, 5001, 1000):
        targets = [
            {"@odata.type": statistics, "nav_customerno": f"C{n}"}
            for n in range(start, min(start + 1000, 5001))
        ]
        created = session.post(
            root + "nav_accountstatisticses/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets}
        )
        assert created.status_code == 200
    annotations = 'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"'
    body = session.get(
        root + "nav_accountstatisticses?$select=nav_customerno&$count=true&$top=1",
        headers={"Prefer": annotations},
    ).json()
    assert body["@odata.count"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True
    assert session.get(root + "nav_accountstatisticses/$count").text == "5000"
