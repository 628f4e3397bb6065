"""Transport behaviour seen through a hook: retries, backoff, token refresh, headers, TLS trust."""

from __future__ import annotations

import json
import logging

import pytest
from client_connections import CLIENT_SECRET, DATAVERSE_API, dataverse_connection
from wire_fake import AUTHORITY, FakeWire, Reply, odata_error

from bcsync.hooks import DataverseHook
from bcsync.wire import AuthenticationFailed, ServiceUnavailable
from bcsync.wire.errors import ConfigurationError, RecordRejected

WHOAMI = r"/api/data/v9\.2/WhoAmI$"
ME = Reply(json={"UserId": "u-1", "BusinessUnitId": "b-1", "OrganizationId": "o-1"})


def hook_with(wire: FakeWire, sleeps: list[float], **extra: object) -> DataverseHook:
    wire.serve_entra()
    return DataverseHook.from_connection(dataverse_connection(**extra), adapter=wire, sleep=sleeps.append)


def test_retry_honours_retry_after_then_succeeds(dataverse: DataverseHook, wire: FakeWire, sleeps) -> None:
    wire.on(
        "GET",
        WHOAMI,
        odata_error(429, "0x80072322", "Number of requests exceeded", **{"Retry-After": "3"}),
        ME,
    )

    assert dataverse.whoami()["UserId"] == "u-1"
    assert len(wire.to(WHOAMI)) == 2
    assert sleeps == [3.0]


def test_backoff_without_retry_after_grows_with_jitter(
    dataverse: DataverseHook, wire: FakeWire, sleeps
) -> None:
    wire.on("GET", WHOAMI, Reply(status=503), Reply(status=502), Reply(status=504), ME)

    dataverse.whoami()

    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0


def test_connection_errors_are_retried(dataverse: DataverseHook, wire: FakeWire, sleeps) -> None:
    import requests

    def drop(_sent):
        raise requests.ConnectionError("connection reset by peer")

    wire.on("GET", WHOAMI, drop, ME)

    assert dataverse.whoami()["OrganizationId"] == "o-1"
    assert len(sleeps) == 1


def test_gives_up_after_max_retries_with_service_unavailable(wire: FakeWire, sleeps) -> None:
    hook = hook_with(wire, sleeps, max_retries=2)
    wire.on("GET", WHOAMI, odata_error(503, "", "Service Unavailable", **{"Retry-After": "1"}), repeat=True)

    with pytest.raises(ServiceUnavailable, match="after 2 retries"):
        hook.whoami()
    assert len(wire.to(WHOAMI)) == 3
    assert sleeps == [1.0, 1.0]


def test_a_retry_after_beyond_the_total_wait_fails_the_task_at_once(
    dataverse, wire: FakeWire, sleeps
) -> None:
    wire.on(
        "GET", WHOAMI, odata_error(429, "0x80072321", "Combined execution time", **{"Retry-After": "900"})
    )

    with pytest.raises(ServiceUnavailable):
        dataverse.whoami()
    assert sleeps == []


def test_record_errors_are_not_retried(dataverse: DataverseHook, wire: FakeWire, sleeps) -> None:
    wire.on(
        "PATCH",
        r"accounts\(",
        odata_error(412, "0x80060882", "The version of the existing record doesn't match"),
    )

    with pytest.raises(RecordRejected) as rejected:
        dataverse.update("accounts", "2f1d0c5e-8a3b-4c2d-9e1f-0a1b2c3d4e5f", {"name": "x"}, if_match='W/"1"')
    assert rejected.value.status == 412 and rejected.value.code == "0x80060882"
    assert len(wire.to(r"accounts\(")) == 1 and sleeps == []


def test_a_401_forces_exactly_one_token_refresh(wire: FakeWire, sleeps) -> None:
    wire.serve_entra("token-1", "token-2")
    hook = DataverseHook.from_connection(dataverse_connection(), adapter=wire, sleep=sleeps.append)
    wire.on("GET", WHOAMI, odata_error(401, "0x8004a101", "The bearer token has expired."), ME)

    hook.whoami()

    calls = wire.to(WHOAMI)
    assert [c.headers["Authorization"] for c in calls] == ["Bearer token-1", "Bearer token-2"]
    assert len(wire.to(r"/oauth2/v2\.0/token$", "POST")) == 2
    assert sleeps == []


def test_a_second_401_after_refresh_fails_the_task(wire: FakeWire, sleeps) -> None:
    hook = hook_with(wire, sleeps)
    wire.on("GET", WHOAMI, odata_error(401, "0x8004a100", "The bearer token is not valid."), repeat=True)

    with pytest.raises(AuthenticationFailed, match="not valid"):
        hook.whoami()
    assert len(wire.to(WHOAMI)) == 2


def test_tokens_are_cached_across_requests(dataverse: DataverseHook, wire: FakeWire) -> None:
    wire.on("GET", WHOAMI, ME, ME, ME)

    for _ in range(3):
        dataverse.whoami()

    assert len(wire.to(r"/oauth2/v2\.0/token$")) == 1
    assert (
        wire.to(r"/oauth2/v2\.0/token$")[0]
        .body.decode()
        .count("scope=https%3A%2F%2Forg.crm.sandbox.test%2F.default")
        == 1
    )


def test_entra_refusal_becomes_authentication_failed_without_the_secret(wire: FakeWire, sleeps) -> None:
    wire.on(
        "GET",
        r"/v2\.0/\.well-known/openid-configuration$",
        Reply(
            json={
                "issuer": f"{AUTHORITY}/v2.0",
                "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
                "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
            }
        ),
        repeat=True,
    )
    wire.on(
        "POST",
        r"/oauth2/v2\.0/token$",
        Reply(
            status=401,
            json={
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1",
            },
        ),
    )
    hook = DataverseHook.from_connection(dataverse_connection(), adapter=wire, sleep=sleeps.append)

    with pytest.raises(AuthenticationFailed) as failed:
        hook.whoami()
    assert "invalid_client: AADSTS7000215: Invalid client secret provided." in str(failed.value)
    assert CLIENT_SECRET not in str(failed.value)
    assert wire.to(WHOAMI) == []


def test_every_request_carries_odata_headers_and_trusts_only_the_configured_ca(
    tmp_path, wire, sleeps
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    hook = hook_with(wire, sleeps, ca_bundle=str(ca), timeout=12)
    wire.on("GET", WHOAMI, ME)

    hook.whoami()

    sent = wire.to(WHOAMI)[0]
    assert sent.headers["OData-MaxVersion"] == "4.0" and sent.headers["OData-Version"] == "4.0"
    assert sent.headers["Accept"] == "application/json"
    session = hook.get_conn().session
    assert session.verify == str(ca) and session.trust_env is False
    assert hook.get_conn().timeout == 12.0


def test_each_retry_is_logged_with_method_url_status_and_wait(dataverse, wire: FakeWire, caplog) -> None:
    wire.on("GET", WHOAMI, Reply(status=429, headers={"Retry-After": "2"}), ME)

    with caplog.at_level(logging.WARNING, logger="bcsync.wire"):
        dataverse.whoami()

    assert f"GET {DATAVERSE_API}/WhoAmI -> 429; retry 1/5 in 2.0s" in caplog.text


def test_secrets_never_reach_logs_or_reprs(dataverse: DataverseHook, wire: FakeWire, caplog) -> None:
    wire.on("GET", WHOAMI, Reply(status=401), Reply(status=503), ME)

    with caplog.at_level(logging.DEBUG):
        dataverse.whoami()

    transport = dataverse.get_conn()
    shown = " ".join(
        [caplog.text, repr(dataverse), repr(dataverse.settings), repr(transport), repr(transport.auth)]
    )
    shown += repr(transport.auth.provider)
    assert CLIENT_SECRET not in shown
    assert "token-1" not in caplog.text
    assert "client_id='1d2e3f40" in repr(dataverse.settings)


def test_hook_reads_its_connection_from_an_airflow_conn_env_var(monkeypatch, wire: FakeWire, sleeps) -> None:
    conn = dataverse_connection()
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAVERSE_DEFAULT",
        json.dumps(
            {
                "conn_type": "dataverse",
                "host": conn.host,
                "login": conn.login,
                "password": conn.password,
                "extra": conn.extra_dejson,
            }
        ),
    )
    wire.serve_entra()
    wire.on("GET", WHOAMI, ME)

    hook = DataverseHook(adapter=wire, sleep=sleeps.append)

    assert hook.whoami()["UserId"] == "u-1"
    assert hook.service_root() == f"{DATAVERSE_API}/"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"extra": "{}"}, "tenant_id"),
        ({"host": "http://org.crm.sandbox.test"}, "https"),
        ({"password": None}, "client secret"),
        ({"extra": '{"tenant_id": "t", "ca_bundle": "/nonexistent/ca.pem"}'}, "ca_bundle"),
        ({"extra": '{"tenant_id": "t", "page_size": "lots"}'}, "page_size"),
    ],
)
def test_bad_connections_fail_with_a_message_naming_the_problem(changes: dict, message: str) -> None:
    from airflow.sdk import Connection

    base = dataverse_connection()
    fields = {
        "conn_id": "bad",
        "conn_type": "dataverse",
        "host": base.host,
        "login": base.login,
        "password": base.password,
        "extra": base.extra,
    }
    hook = DataverseHook.from_connection(Connection(**{**fields, **changes}))

    with pytest.raises(ConfigurationError, match=message):
        hook.settings  # noqa: B018


def test_links_to_another_host_are_refused_so_the_token_stays_home(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    wire.on(
        "GET",
        r"accounts\?",
        Reply(json={"value": [{"accountid": "a"}], "@odata.nextLink": "https://evil.test/steal"}),
    )

    pages = dataverse.iter_pages("accounts", select=["name"])
    assert next(pages) == [{"accountid": "a"}]
    with pytest.raises(ConfigurationError, match="refusing to follow"):
        next(pages)


def test_the_service_clock_is_read_from_date_headers(dataverse: DataverseHook, wire: FakeWire) -> None:
    """The read-back window is anchored on the service's clock: each response's `Date` bounds the
    offset from below (whole seconds, rounded down, written before we received it)."""
    from datetime import UTC, datetime, timedelta

    assert dataverse.service_time(datetime.now(UTC)) is None  # no Date seen yet
    ahead = datetime.now(UTC) + timedelta(hours=1)  # a service clock an hour ahead of ours
    wire.on("GET", WHOAMI, Reply(json=ME.json, headers={"Date": ahead.strftime("%a, %d %b %Y %H:%M:%S GMT")}))

    dataverse.whoami()

    now = datetime.now(UTC)
    on_service = dataverse.service_time(now)
    assert on_service is not None
    # At most ahead of the service (the bound is a floor) and by less than the second cut off + latency.
    assert timedelta(minutes=59, seconds=58) <= on_service - now <= timedelta(hours=1)


def test_a_date_header_that_names_no_zone_tells_nothing(dataverse: DataverseHook, wire: FakeWire) -> None:
    from datetime import UTC, datetime

    wire.on("GET", WHOAMI, Reply(json=ME.json, headers={"Date": "Mon, 07 Dec 2026 00:40:01 -0000"}))
    wire.on("GET", r"/api/data/v9\.2/accounts", Reply(json={"value": []}, headers={"Date": "not a date"}))

    dataverse.whoami()
    dataverse.get_conn().get_json("accounts")

    assert dataverse.service_time(datetime.now(UTC)) is None


def test_a_json_body_goes_out_as_compact_utf8_json_and_a_response_is_parsed(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    from decimal import Decimal

    record = {"name": "Zoë & Co", "creditlimit": Decimal("1500.50"), "numberofemployees": 12, "fax": None}
    wire.on(
        "POST",
        r"/accounts$",
        Reply(json={"accountid": "a-1", "name": "Zoë & Co", "@odata.etag": 'W/"7"'}),
    )

    created = dataverse.create("accounts", record, return_representation=True)

    sent = wire.to(r"/accounts$")[0]
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.body == '{"name":"Zoë & Co","creditlimit":1500.50,"numberofemployees":12,"fax":null}'.encode()
    assert created == {"accountid": "a-1", "name": "Zoë & Co", "@odata.etag": 'W/"7"'}


def test_a_request_with_both_a_json_body_and_data_is_refused(dataverse: DataverseHook) -> None:
    with pytest.raises(ConfigurationError, match="JSON body or data"):
        dataverse.get_conn().request("POST", "accounts", json={"name": "x"}, data=b"{}")
