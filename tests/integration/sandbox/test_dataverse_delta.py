"""Dataverse change tracking over HTTPS: delta links, changed rows, `$deletedEntity`, refused options."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.launcher import RunningSandbox

Api = tuple[requests.Session, str]
TRACK = {"Prefer": "odata.track-changes"}


@pytest.fixture
def api(sandbox: RunningSandbox, dataverse_token: str, new_session: Any) -> Api:
    return new_session(sandbox.ca_file, dataverse_token), sandbox.dataverse_api + "/"


def _created_id(response: requests.Response) -> str:
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def _follow(session: requests.Session, url: str, headers: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
    """Every row of a tracked read (following next links) and the final delta link."""
    rows: list[dict[str, Any]] = []
    while True:
        response = session.get(url, headers=headers)
        assert response.status_code == 200, response.text
        assert "odata.track-changes" in response.headers["Preference-Applied"]
        body = response.json()
        rows += body["value"]
        if "@odata.deltaLink" in body:
            return rows, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def test_initial_read_returns_all_rows_and_a_delta_link(api: Api) -> None:
    session, root = api
    rows, delta_link = _follow(
        session,
        root + "contacts?$select=lastname",
        {"Prefer": "odata.track-changes,odata.maxpagesize=7"},
    )
    total = int(session.get(root + "contacts/$count").text)
    assert len({row["contactid"] for row in rows}) == total
    assert "$deltatoken=" in delta_link and "$select=lastname" in delta_link


def test_delta_link_returns_new_changed_and_deleted_rows(api: Api) -> None:
    session, root = api
    doomed = _created_id(session.post(root + "accounts", json={"name": "Doomed"}))
    changed = _created_id(session.post(root + "accounts", json={"name": "Changing"}))
    _, delta_link = _follow(session, root + "accounts?$select=name", TRACK)
    session.patch(root + f"accounts({changed})", json={"name": "Changed"})
    session.delete(root + f"accounts({doomed})")
    added = _created_id(session.post(root + "accounts", json={"name": "Added"}))
    response = session.get(delta_link)
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#accounts(name)/$delta")
    entities = {row["accountid"]: row["name"] for row in body["value"] if "accountid" in row}
    assert entities == {changed: "Changed", added: "Added"}
    deleted = [row for row in body["value"] if row.get("reason") == "deleted"]
    assert deleted == [{"@odata.context": deleted[0]["@odata.context"], "id": doomed, "reason": "deleted"}]
    assert deleted[0]["@odata.context"].endswith("$metadata#accounts/$deletedEntity")
    again = session.get(body["@odata.deltaLink"]).json()
    assert again["value"] == []


def test_delta_count_counts_changes(api: Api) -> None:
    session, root = api
    _, delta_link = _follow(session, root + "accounts?$select=name", TRACK)
    session.post(root + "accounts", json={"name": "Counted"})
    token = delta_link.split("$deltatoken=", 1)[1]
    response = session.get(root + "accounts/$count", params={"$deltatoken": requests.utils.unquote(token)})
    assert response.text == "1"


@pytest.mark.parametrize(
    "option", ["$filter=name eq 'x'", "$orderby=name", "$top=5", "$expand=primarycontactid"]
)
def test_query_options_refused_with_change_tracking(api: Api, option: str) -> None:
    session, root = api
    response = session.get(root + f"accounts?$select=name&{option}", headers=TRACK)
    assert response.status_code == 400
    name = option.split("=")[0]
    assert response.json()["error"]["message"] == (
        f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.'
    )


def test_garbage_and_expired_delta_tokens_are_errors(api: Api) -> None:
    session, root = api
    garbage = session.get(root + "accounts?$select=name&$deltatoken=garbage")
    assert garbage.status_code == 400
    expired = session.get(
        root + "accounts", params={"$select": "name", "$deltatoken": "1!01/01/2020 00:00:00"}
    )
    assert expired.status_code == 400
    assert "expired" in expired.json()["error"]["message"]


def test_tables_without_change_tracking_refuse_it(api: Api) -> None:
    session, root = api
    response = session.get(root + "businessunits?$select=name", headers=TRACK)
    assert response.status_code == 400
