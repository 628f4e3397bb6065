"""Business Central JSON `$batch`: relative URLs, at most 100 operations, stop at the first error
unless `odata.continue-on-error`, and all-or-nothing with `Isolation: snapshot`."""

from __future__ import annotations

import uuid

import pytest
import requests
from test_bc_routing import assert_bc_error

from sandbox.launcher import RunningSandbox


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


def post_customer(sandbox: RunningSandbox, op_id: str, name: str, **values: object) -> dict:
    return {
        "id": op_id,
        "method": "POST",
        "url": f"companies({sandbox.company_id})/customers",
        "headers": {"Content-Type": "application/json"},
        "body": {"displayName": name, **values},
    }


def batch(
    sandbox: RunningSandbox,
    session: requests.Session,
    requests_: list[dict],
    route: str = "api/v2.0",
    **headers: str,
) -> requests.Response:
    url = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/{route}/$batch"
    return session.post(url, json={"requests": requests_}, headers={"Accept": "application/json", **headers})


def names_present(sandbox: RunningSandbox, session: requests.Session, names: list[str]) -> set[str]:
    quoted = ",".join(f"'{name}'" for name in names)
    response = session.get(
        f"{sandbox.bc_company_url}/customers", params={"$filter": f"displayName in ({quoted})"}
    )
    return {c["displayName"] for c in response.json()["value"]}


def test_batch_runs_each_operation_and_answers_per_operation(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    name = f"Batch {uuid.uuid4().hex[:8]}"
    created = batch(sandbox, session, [post_customer(sandbox, "1", name)]).json()["responses"][0]
    customer = created["body"]
    operations = [
        {
            "id": "patch",
            "method": "PATCH",
            "url": f"companies({sandbox.company_id})/customers({customer['id']})",
            "headers": {"If-Match": customer["@odata.etag"]},
            "body": {"city": "Lund"},
        },
        {"id": "get", "method": "GET", "url": f"companies({sandbox.company_id})/customers({customer['id']})"},
        {
            "id": "delete",
            "method": "DELETE",
            "url": f"companies({sandbox.company_id})/customers({customer['id']})",
            "headers": {"If-Match": "*"},
        },
    ]

    response = batch(sandbox, session, operations)

    assert created["status"] == 201
    assert response.status_code == 200
    answers = response.json()["responses"]
    assert [(a["id"], a["status"]) for a in answers] == [("patch", 200), ("get", 200), ("delete", 204)]
    assert answers[0]["body"]["city"] == "Lund" and answers[1]["body"]["city"] == "Lund"
    assert answers[0]["headers"]["etag"] == answers[0]["body"]["@odata.etag"]
    assert "body" not in answers[2]


def test_more_than_100_operations_is_refused(sandbox: RunningSandbox, session: requests.Session) -> None:
    operations = [post_customer(sandbox, str(i), f"Too many {i}") for i in range(101)]

    response = batch(sandbox, session, operations)

    assert "100" in assert_bc_error(response, 400, "BadRequest")
    assert names_present(sandbox, session, ["Too many 0"]) == set()


def test_batch_stops_at_the_first_failure(sandbox: RunningSandbox, session: requests.Session) -> None:
    tag = uuid.uuid4().hex[:8]
    operations = [
        post_customer(sandbox, "1", f"Stop A {tag}"),
        post_customer(sandbox, "2", f"Stop B {tag}", city="x" * 31),
        post_customer(sandbox, "3", f"Stop C {tag}"),
    ]

    response = batch(sandbox, session, operations)

    answers = response.json()["responses"]
    assert response.status_code == 200
    assert [(a["id"], a["status"]) for a in answers] == [("1", 201), ("2", 400)]
    assert answers[1]["body"]["error"]["code"] == "Application_StringExceededLength"
    assert names_present(sandbox, session, [f"Stop A {tag}", f"Stop C {tag}"]) == {f"Stop A {tag}"}


def test_continue_on_error_runs_the_rest(sandbox: RunningSandbox, session: requests.Session) -> None:
    tag = uuid.uuid4().hex[:8]
    operations = [
        post_customer(sandbox, "1", f"Go A {tag}", blocked="Nope"),
        post_customer(sandbox, "2", f"Go B {tag}"),
    ]

    response = batch(sandbox, session, operations, Prefer="odata.continue-on-error")

    assert [(a["id"], a["status"]) for a in response.json()["responses"]] == [("1", 400), ("2", 201)]
    assert names_present(sandbox, session, [f"Go A {tag}", f"Go B {tag}"]) == {f"Go B {tag}"}


def test_snapshot_isolation_rolls_back_every_operation(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    tag = uuid.uuid4().hex[:8]
    operations = [
        post_customer(sandbox, "1", f"Snap A {tag}"),
        post_customer(sandbox, "2", f"Snap B {tag}"),
        post_customer(sandbox, "3", f"Snap C {tag}", currencyCode="ZZZ"),
    ]

    response = batch(sandbox, session, operations, Isolation="snapshot")

    assert response.status_code == 200
    answers = response.json()["responses"]
    assert [(a["id"], a["status"]) for a in answers] == [("3", 400)]
    assert names_present(sandbox, session, [f"Snap A {tag}", f"Snap B {tag}"]) == set()


def test_snapshot_isolation_commits_when_all_succeed(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    tag = uuid.uuid4().hex[:8]
    operations = [post_customer(sandbox, str(i), f"Snap ok {i} {tag}") for i in range(3)]

    response = batch(sandbox, session, operations, Isolation="snapshot")

    assert [a["status"] for a in response.json()["responses"]] == [201, 201, 201]
    numbers = [a["body"]["number"] for a in response.json()["responses"]]
    assert len(set(numbers)) == 3
    assert len(names_present(sandbox, session, [f"Snap ok {i} {tag}" for i in range(3)])) == 3


def test_custom_route_batch_with_company_header(sandbox: RunningSandbox, session: requests.Session) -> None:
    operations = [
        {
            "id": "g",
            "method": "GET",
            "url": "customerPriceGroups",
            "headers": {"Company": sandbox.company_id},
        },
        {"id": "s", "method": "GET", "url": f"companies({sandbox.company_id})/salesPrices?$top=1"},
    ]

    response = batch(sandbox, session, operations, route="api/bcsync/sync/v1.0")

    answers = response.json()["responses"]
    assert [a["status"] for a in answers] == [200, 200]
    assert answers[0]["body"]["value"] and len(answers[1]["body"]["value"]) == 1


def test_unknown_inner_url_fails_that_operation(sandbox: RunningSandbox, session: requests.Session) -> None:
    operations = [{"id": "x", "method": "GET", "url": f"companies({sandbox.company_id})/warpDrives"}]

    answer = batch(sandbox, session, operations).json()["responses"][0]

    assert answer["status"] == 404 and answer["body"]["error"]["code"] == "BadRequest_ResourceNotFound"


def test_batch_body_must_be_json_requests(sandbox: RunningSandbox, session: requests.Session) -> None:
    url = f"{sandbox.bc_api}/$batch"
    assert_bc_error(session.post(url, json={"nope": []}), 400, "BadRequest")
    assert_bc_error(session.get(url), 405, "BadRequest_MethodNotAllowed")


def test_duplicate_numbers_in_one_batch_fail_only_the_second(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    number = f"DUP{uuid.uuid4().hex[:6]}".upper()
    operations = [
        post_customer(sandbox, "1", f"Dup one {number}", number=number),
        post_customer(sandbox, "2", f"Dup two {number}", number=number),
    ]

    answers = batch(sandbox, session, operations, Prefer="odata.continue-on-error").json()["responses"]

    assert [(a["id"], a["status"]) for a in answers] == [("1", 201), ("2", 400)]
    assert answers[1]["body"]["error"]["code"] == "Internal_EntityWithSameKeyExists"
    assert names_present(sandbox, session, [f"Dup one {number}", f"Dup two {number}"]) == {
        f"Dup one {number}"
    }
