"""Dataverse impersonation over HTTPS: `CallerObjectId` (Entra object id), `MSCRMCallerID` (systemuserid)."""

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


def _sales_user(api: Api) -> dict[str, Any]:
    """A seeded human Sales user (not the application user) with an Entra object id."""
    session, root = api
    users = session.get(
        root + "systemusers?$select=fullname,azureactivedirectoryobjectid"
        "&$filter=applicationid eq null and azureactivedirectoryobjectid ne null and isdisabled eq false"
        "&$orderby=fullname"
    ).json()["value"]
    assert len(users) >= 2
    return users[1]


def _new_account(api: Api) -> str:
    session, root = api
    created = session.post(root + "accounts", json={"name": f"Impersonation {uuid.uuid4()}"})
    assert created.status_code == 204, created.text
    return created.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def _audit(api: Api, account: str) -> dict[str, Any]:
    session, root = api
    return session.get(root + f"accounts({account})?$select=_createdby_value,_modifiedby_value").json()


@pytest.mark.parametrize("header", ["MSCRMCallerID", "CallerObjectId"])
def test_patch_as_a_sales_user_sets_modifiedby(api: Api, header: str) -> None:
    session, root = api
    user = _sales_user(api)
    me = session.get(root + "WhoAmI").json()["UserId"]
    account = _new_account(api)
    value = user["systemuserid"] if header == "MSCRMCallerID" else user["azureactivedirectoryobjectid"]
    changed = session.patch(
        root + f"accounts({account})", json={"telephone1": "555-0100"}, headers={header: value}
    )
    assert changed.status_code == 204, changed.text
    audit = _audit(api, account)
    assert audit["_modifiedby_value"] == user["systemuserid"]
    assert audit["_createdby_value"] == me
    assert session.get(root + "WhoAmI", headers={header: value}).json()["UserId"] == user["systemuserid"]


def test_create_as_a_sales_user_sets_createdby_and_owner(api: Api) -> None:
    session, root = api
    user = _sales_user(api)
    headers = {"CallerObjectId": user["azureactivedirectoryobjectid"], "Prefer": "return=representation"}
    created = session.post(
        root + "accounts?$select=_createdby_value,_ownerid_value", json={"name": "As Sales"}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["_createdby_value"] == user["systemuserid"]
    assert created.json()["_ownerid_value"] == user["systemuserid"]


@pytest.mark.parametrize("header", ["MSCRMCallerID", "CallerObjectId"])
def test_unknown_caller_is_refused_and_nothing_is_written(api: Api, header: str) -> None:
    session, root = api
    account = _new_account(api)
    before = _audit(api, account)
    unknown = str(uuid.uuid4())
    refused = session.patch(
        root + f"accounts({account})", json={"telephone1": "555-0199"}, headers={header: unknown}
    )
    assert refused.status_code == 404
    error = refused.json()["error"]
    assert error["code"] == "0x80040217"
    assert unknown in error["message"]
    assert _audit(api, account) == before
    garbage = session.patch(root + f"accounts({account})", json={"telephone1": "1"}, headers={header: "nope"})
    assert garbage.status_code == 400
