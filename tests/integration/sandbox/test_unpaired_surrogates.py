"""A string with an unpaired UTF-16 surrogate (`"\\ud800"` in the JSON) cannot be stored as text: both
services refuse it as a bad request, in their own error shape, as the real services do (not a 500)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from test_bc_routing import assert_bc_error

from sandbox.launcher import RunningSandbox

# What a client sends when it escapes a str holding half of a surrogate pair (json.dumps does).
LONE_HIGH = b'{"name": "Contoso \\ud83d Ltd"}'
LONE_LOW = b'{"displayName": "Contoso \\ude00 Ltd"}'
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def dataverse(
    sandbox: RunningSandbox, dataverse_token: str, new_session: Any
) -> tuple[requests.Session, str]:
    return new_session(sandbox.ca_file, dataverse_token), sandbox.dataverse_api


@pytest.fixture
def bc(sandbox: RunningSandbox, bc_token: str, new_session: Any) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


def test_dataverse_refuses_an_unpaired_surrogate_as_a_bad_request(dataverse) -> None:
    session, root = dataverse
    response = session.post(f"{root}/accounts", data=LONE_HIGH, headers=JSON)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "0x80060888" and "surrogate" in error["message"]
    # A paired surrogate (an emoji) is fine.
    created = session.post(f"{root}/accounts", data=b'{"name": "Contoso \\ud83d\\ude00 Ltd"}', headers=JSON)
    assert created.status_code == 204, created.text


def test_dataverse_batch_part_with_an_unpaired_surrogate_fails_that_part(dataverse) -> None:
    session, root = dataverse
    body = (
        "--batch_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"POST {root}/accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
        f"{LONE_HIGH.decode()}\r\n--batch_x--\r\n"
    )
    response = session.post(
        f"{root}/$batch",
        data=body.encode(),
        headers={"Content-Type": "multipart/mixed; boundary=batch_x"},
    )
    # The failed part stops the batch (no continue-on-error), and its 400 is the batch's status.
    assert response.status_code == 400, response.text
    assert "HTTP/1.1 400 Bad Request" in response.text and "unpaired surrogate" in response.text


def test_bc_refuses_an_unpaired_surrogate_as_a_bad_request(sandbox: RunningSandbox, bc) -> None:
    response = bc.post(f"{sandbox.bc_company_url}/customers", data=LONE_LOW, headers=JSON)
    assert "surrogate" in assert_bc_error(response, 400, "BadRequest")


def test_bc_batch_operation_with_an_unpaired_surrogate_is_a_bad_request(sandbox: RunningSandbox, bc) -> None:
    url = f"companies({sandbox.company_id})/customers"
    body = (
        b'{"requests": [{"id": "1", "method": "POST", "url": "' + url.encode() + b'", '
        b'"headers": {"Content-Type": "application/json"}, "body": ' + LONE_LOW + b"}]}"
    )
    response = bc.post(f"{sandbox.bc_api}/$batch", data=body, headers=JSON)
    assert "surrogate" in assert_bc_error(response, 400, "BadRequest")
