"""The hooks as siblings of providers-http's `HttpHook`: its session building with our auth, TLS trust and
pool, its `run` and `test_connection` through our transport, and failures no retry can fix."""

from __future__ import annotations

import pytest
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import Connection
from client_connections import BC_URL, COMPANY, DATAVERSE_API, bc_connection, dataverse_connection
from requests.adapters import HTTPAdapter
from wire_fake import FakeWire, Reply, odata_error

from bcsync.hooks import BusinessCentralHook, DataverseHook
from bcsync.wire import AuthenticationFailed, ConfigurationError, TaskFailure

WHOAMI = r"/api/data/v9\.2/WhoAmI$"
ME = Reply(json={"UserId": "u-1", "BusinessUnitId": "b-1", "OrganizationId": "o-1"})
TOKEN = r"/oauth2/v2\.0/token$"


@pytest.mark.parametrize("hook_class", [DataverseHook, BusinessCentralHook])
def test_both_hooks_are_http_hooks_with_their_own_connection_type(hook_class: type[HttpHook]) -> None:
    assert issubclass(hook_class, HttpHook)
    assert hook_class.conn_name_attr != HttpHook.conn_name_attr
    assert hook_class.conn_type not in ("http", "")


def test_the_session_is_http_hooks_with_the_fake_wire_mounted(dataverse: DataverseHook, wire) -> None:
    session = dataverse.get_conn().session

    assert session.get_adapter(f"{DATAVERSE_API}/WhoAmI") is wire
    assert dataverse.base_url == DATAVERSE_API
    assert dataverse.url_from_endpoint("WhoAmI") == f"{DATAVERSE_API}/WhoAmI"


def test_extras_are_settings_never_request_headers(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on("GET", r"/api/v2\.0/companies$", Reply(json={"value": [{"id": COMPANY, "name": "CRONUS"}]}))

    bc.companies()

    sent = wire.to(r"/companies$")[0]
    assert not {"tenant_id", "environment", "company_id", "authority", "custom_api"} & {
        name.lower() for name in sent.headers
    }
    assert sent.headers["Authorization"] == "Bearer token-1"


def test_token_requests_never_carry_the_services_bearer_token(wire: FakeWire, sleeps) -> None:
    wire.serve_entra("token-1", "token-2")
    hook = DataverseHook.from_connection(dataverse_connection(), adapter=wire, sleep=sleeps.append)
    wire.on("GET", WHOAMI, Reply(status=401), ME)

    hook.whoami()

    assert [sent.headers.get("Authorization") for sent in wire.to(TOKEN)] == [None, None]


def test_without_an_adapter_the_pool_holds_the_hooks_concurrency() -> None:
    hook = BusinessCentralHook.from_connection(bc_connection(max_concurrency=3))

    adapter = hook.get_conn().session.get_adapter(f"{BC_URL}/v2.0/")

    assert isinstance(adapter, HTTPAdapter)
    assert adapter._pool_maxsize == 3 + 2  # type: ignore[attr-defined]
    assert adapter.max_retries.total == 0  # the transport decides what is retried


def test_run_sends_through_the_transport_with_its_retries(wire: FakeWire, sleeps: list[float]) -> None:
    wire.serve_entra()
    hook = DataverseHook.from_connection(dataverse_connection(), adapter=wire, sleep=sleeps.append)
    wire.on("GET", r"/accounts\?%24top=1$", Reply(status=429, headers={"Retry-After": "2"}), Reply(json={}))

    response = hook.run("accounts", data={"$top": 1})

    assert response.status_code == 200 and sleeps == [2.0]


def test_run_refuses_options_the_connection_owns(dataverse: DataverseHook) -> None:
    with pytest.raises(ConfigurationError, match="extra_options"):
        dataverse.run("WhoAmI", extra_options={"timeout": 1})


def test_test_connection_reports_who_we_are(dataverse: DataverseHook, wire: FakeWire) -> None:
    wire.on("GET", WHOAMI, ME)

    assert dataverse.test_connection() == (True, "Connected as user u-1 of organization o-1")


def test_test_connection_reports_a_missing_company(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on("GET", r"/api/v2\.0/companies$", Reply(json={"value": [{"id": "other", "name": "Other"}]}))

    ok, message = bc.test_connection()

    assert not ok and COMPANY in message


def test_a_403_fails_the_task_at_once(dataverse: DataverseHook, wire: FakeWire, sleeps) -> None:
    wire.on("GET", WHOAMI, odata_error(403, "0x80040220", "Principal user is missing prvReadAccount"))

    with pytest.raises(AuthenticationFailed) as failed:
        dataverse.whoami()
    assert isinstance(failed.value, TaskFailure)
    assert len(wire.to(WHOAMI)) == 1 and sleeps == []


def test_a_401_after_the_refresh_is_a_task_failure(wire: FakeWire, sleeps) -> None:
    wire.serve_entra("token-1", "token-2")
    hook = DataverseHook.from_connection(dataverse_connection(), adapter=wire, sleep=sleeps.append)
    wire.on("GET", WHOAMI, Reply(status=401), Reply(status=401))

    with pytest.raises(TaskFailure) as failed:
        hook.whoami()
    assert isinstance(failed.value, AuthenticationFailed) and sleeps == []


def test_a_bad_connection_fails_the_task_before_any_request(wire: FakeWire) -> None:
    base = dataverse_connection()
    broken = Connection(conn_id="broken", conn_type="dataverse", host=base.host, login=base.login, extra="{}")
    hook = DataverseHook.from_connection(broken, adapter=wire)

    with pytest.raises(ConfigurationError) as failed:
        hook.whoami()
    assert isinstance(failed.value, TaskFailure)
    assert wire.sent == []
