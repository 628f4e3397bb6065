"""Dataverse multipart `$batch` over HTTPS: change sets, Content-ID references, error handling, limits."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import requests

from sandbox.launcher import RunningSandbox

Api = tuple[requests.Session, str]


@pytest.fixture
def api(sandbox: RunningSandbox, dataverse_token: str, new_session: Any) -> Api:
    return new_session(sandbox.ca_file, dataverse_token), sandbox.dataverse_api + "/"


def _request(method: str, url: str, body: Any = None, content_id: str | None = None) -> str:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        head.append(f"Content-ID: {content_id}")
    lines = [*head, "", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines += ["Content-Type: application/json; type=entry", "", json.dumps(body)]
    else:
        lines += [""]
    return "\r\n".join(lines)


def _change_set(parts: list[str]) -> str:
    boundary = f"changeset_{uuid.uuid4().hex}"
    inner = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--"
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"


def _batch(
    session: requests.Session, root: str, parts: list[str], prefer: str | None = None
) -> requests.Response:
    boundary = f"batch_{uuid.uuid4().hex}"
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    if prefer:
        headers["Prefer"] = prefer
    return session.post(root + "$batch", data=body.encode(), headers=headers)


def _statuses(response: requests.Response) -> list[int]:
    return [int(code) for code in re.findall(r"HTTP/1\.1 (\d{3})", response.text)]


def _accounts_named(session: requests.Session, root: str, name: str) -> list[dict[str, Any]]:
    return session.get(root + f"accounts?$select=name&$filter=name eq '{name}'").json()["value"]


def test_batch_runs_requests_in_order_and_answers_multipart(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:8]
    parts = [
        _request("POST", f"{root}accounts", {"name": f"{tag}-1"}),
        _request("POST", "/api/data/v9.2/accounts", {"name": f"{tag}-2"}),
        _request("GET", f"{root}accounts?$select=name&$filter=startswith(name,'{tag}')"),
    ]
    response = _batch(session, root, parts)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert _statuses(response) == [204, 204, 200]
    assert response.text.count("OData-EntityId: ") == 2
    assert f"{tag}-1" in response.text and f"{tag}-2" in response.text  # the GET saw both creates


def test_change_set_content_id_references_bind_and_address_new_records(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:8]
    change_set = _change_set(
        [
            _request("POST", f"{root}accounts", {"name": f"{tag}-parent"}, content_id="1"),
            _request(
                "POST", f"{root}contacts", {"lastname": tag, "parentcustomerid_account@odata.bind": "$1"}, "2"
            ),
            _request("PATCH", "$1", {"telephone1": "42"}, content_id="3"),
        ]
    )
    response = _batch(session, root, [change_set])
    assert response.status_code == 200
    assert _statuses(response) == [204, 204, 204]
    assert "changesetresponse_" in response.text
    account = _accounts_named(session, root, f"{tag}-parent")[0]
    contact = session.get(
        root + f"contacts?$select=_parentcustomerid_value&$filter=lastname eq '{tag}'"
    ).json()
    assert contact["value"][0]["_parentcustomerid_value"] == account["accountid"]
    assert (
        session.get(root + f"accounts({account['accountid']})?$select=telephone1").json()["telephone1"]
        == "42"
    )


def test_failed_change_set_rolls_back_and_stops_the_batch(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:8]
    change_set = _change_set(
        [
            _request("POST", f"{root}accounts", {"name": f"{tag}-rolled-back"}, content_id="1"),
            _request("POST", f"{root}accounts", {"name": "n" * 161}, content_id="2"),
        ]
    )
    after = _request("POST", f"{root}accounts", {"name": f"{tag}-never-run"})
    response = _batch(session, root, [change_set, after])
    assert response.status_code == 400
    assert _statuses(response) == [400]
    assert "0x80044331" in response.text
    assert _accounts_named(session, root, f"{tag}-rolled-back") == []
    assert _accounts_named(session, root, f"{tag}-never-run") == []


def test_continue_on_error_answers_every_part(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:8]
    parts = [
        _request("POST", f"{root}accounts", {"name": "n" * 161}),
        _request("GET", f"{root}accounts({uuid.uuid4()})"),
        _request("POST", f"{root}accounts", {"name": f"{tag}-after"}),
    ]
    response = _batch(session, root, parts, prefer="odata.continue-on-error")
    assert response.status_code == 200
    assert _statuses(response) == [400, 404, 204]
    assert response.headers["Preference-Applied"] == "odata.continue-on-error"
    assert len(_accounts_named(session, root, f"{tag}-after")) == 1


def test_get_inside_a_change_set_and_unknown_content_id_are_rejected(api: Api) -> None:
    session, root = api
    get_in_change_set = _batch(session, root, [_change_set([_request("GET", f"{root}accounts")])])
    assert get_in_change_set.status_code == 400
    dangling = _batch(
        session,
        root,
        [
            _change_set(
                [
                    _request(
                        "POST",
                        f"{root}contacts",
                        {"lastname": "x", "parentcustomerid_account@odata.bind": "$9"},
                    )
                ]
            )
        ],
    )
    assert dangling.status_code == 400
    assert "Content-ID Reference: '$9' does not exist in the batch context." in dangling.text


def test_more_than_1000_requests_is_413(api: Api) -> None:
    session, root = api
    parts = [_request("GET", f"{root}WhoAmI")] * 1001
    response = _batch(session, root, parts)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "Number of requests in a batch exceeded the limit of 1000."


def test_a_failing_create_among_creates_stops_the_batch_after_the_earlier_ones(api: Api) -> None:
    session, root = api
    tag = uuid.uuid4().hex[:8]
    parts = [
        _request("POST", f"{root}accounts", {"name": f"{tag}-first"}),
        _request("POST", f"{root}accounts", {"name": "n" * 161}),
        _request("POST", f"{root}accounts", {"name": f"{tag}-third"}),
    ]
    response = _batch(session, root, parts)
    assert response.status_code == 400
    assert _statuses(response) == [400]
    assert len(_accounts_named(session, root, f"{tag}-first")) == 1
    assert _accounts_named(session, root, f"{tag}-third") == []


def test_creates_with_client_keys_answer_each_part_with_its_own_entity_url(api: Api) -> None:
    session, root = api
    keys = [str(uuid.uuid4()) for _ in range(3)]
    parts = [_request("POST", f"{root}accounts", {"accountid": key, "name": "keyed"}) for key in keys]
    parts.append(_request("POST", f"{root}accounts", {"accountid": keys[0], "name": "again"}))
    response = _batch(session, root, parts, prefer="odata.continue-on-error")
    assert _statuses(response) == [204, 204, 204, 412]
    entity_ids = re.findall(r"OData-EntityId: \S+accounts\(([0-9a-f-]+)\)", response.text)
    assert entity_ids == keys
