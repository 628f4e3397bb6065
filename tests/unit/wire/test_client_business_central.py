"""BusinessCentralHook on the wire: routes, read-only paging, If-Match, JSON $batch, concurrency."""

from __future__ import annotations

import re
import threading
import time

import pytest
from client_connections import BC_API, BC_URL, COMPANY, bc_connection
from wire_fake import TENANT, FakeWire, Reply, Sent, odata_error

from bcsync.hooks import BusinessCentralHook
from bcsync.wire import ConfigurationError, RecordRejected
from bcsync.wire.odata import gt

C1 = "0c000000-0000-4000-8000-000000000001"
C2 = "0c000000-0000-4000-8000-000000000002"
BATCH = r"/api/v2\.0/\$batch$"


def test_pages_use_the_company_route_read_only_intent_and_prefer(
    bc: BusinessCentralHook, wire: FakeWire
) -> None:
    import datetime as dt

    second = f"{BC_API}/customers?$skiptoken=abc"
    wire.on("GET", r"/customers\?\$select", Reply(json={"value": [{"id": C1}], "@odata.nextLink": second}))
    wire.on("GET", r"skiptoken=abc", Reply(json={"value": [{"id": C2}]}))
    since = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)

    pages = list(
        bc.iter_pages(
            "customers",
            select=["number", "displayName"],
            filter=gt("lastModifiedDateTime", since),
            orderby=["lastModifiedDateTime", "id"],
            page_size=1000,
        )
    )

    assert pages == [[{"id": C1}], [{"id": C2}]]
    first, then = wire.sent[-2], wire.sent[-1]
    assert first.url.startswith(f"{BC_API}/customers?")
    assert first.query == {
        "$select": "number,displayName",
        "$filter": "lastModifiedDateTime gt 2024-05-01T00:00:00Z",
        "$orderby": "lastModifiedDateTime,id",
    }
    for sent in (first, then):
        assert sent.headers["Prefer"] == "odata.maxpagesize=1000"
        assert sent.headers["Data-Access-Intent"] == "ReadOnly"
    token_request = wire.to(r"/oauth2/v2\.0/token$")[0].body.decode()
    assert "scope=https%3A%2F%2Fapi.businesscentral.dynamics.com%2F.default" in token_request


def test_custom_api_route_comes_from_the_connection(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on("GET", r"/api/bcsync/sync/v1\.0/companies\(.*\)/customerPriceGroups\?", Reply(json={"value": []}))

    assert list(bc.iter_pages("customerPriceGroups", select=["code"], api="custom")) == [[]]
    assert (
        wire.sent[-1].path
        == f"/v2.0/{TENANT}/production/api/bcsync/sync/v1.0/companies({COMPANY})/customerPriceGroups"
    )


def test_a_missing_custom_api_setting_is_named(wire: FakeWire) -> None:
    hook = BusinessCentralHook.from_connection(bc_connection(custom_api=""), adapter=wire)
    with pytest.raises(ConfigurationError, match="'custom_api' is required"):
        hook.route("custom")


def test_page_size_may_reach_bc_limit_of_20000_but_not_more(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on("GET", r"/items\?", Reply(json={"value": []}))
    list(bc.iter_pages("items", select=["number"], page_size=20000))
    with pytest.raises(ConfigurationError, match=r"1\.\.20000"):
        list(bc.iter_pages("items", select=["number"], page_size=20001))


def test_create_returns_the_stored_entity(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on(
        "POST",
        r"/customers$",
        Reply(status=201, json={"id": C1, "number": "C1", "@odata.etag": 'W/"JzE7MTsn"'}),
    )

    created = bc.create("customers", {"number": "C1", "displayName": "O'Brien & Co"})

    assert created["id"] == C1 and created["@odata.etag"] == 'W/"JzE7MTsn"'
    assert wire.sent[-1].json() == {"number": "C1", "displayName": "O'Brien & Co"}


def test_update_and_delete_send_the_etag_they_are_given(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on("PATCH", rf"/customers\({C1}\)$", Reply(json={"id": C1}))
    wire.on("DELETE", rf"/customers\({C1}\)$", Reply(status=204))

    bc.update("customers", C1, {"displayName": "New"}, etag='W/"JzE7MTsn"')
    bc.delete("customers", C1, etag="*")

    assert [s.headers["If-Match"] for s in wire.to(r"/customers\(")] == ['W/"JzE7MTsn"', "*"]


def test_update_without_an_etag_is_refused_before_any_request(
    bc: BusinessCentralHook, wire: FakeWire
) -> None:
    with pytest.raises(ConfigurationError, match="If-Match"):
        bc.update("customers", C1, {"displayName": "New"}, etag="")
    assert wire.to(r"/customers") == []


def test_stale_etag_fails_the_record(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on(
        "PATCH",
        r"/customers\(",
        odata_error(409, "Request_EntityChanged", "Another user has already changed the record."),
    )

    with pytest.raises(RecordRejected, match="Request_EntityChanged"):
        bc.update("customers", C1, {"displayName": "New"}, etag='W/"old"')


def json_batch_reply(sent: Sent, failing: set[int] = frozenset()) -> Reply:  # type: ignore[assignment]
    responses = []
    for op in sent.json()["requests"]:
        number = int(op["id"])
        if number in failing:
            body = {"error": {"code": "Application_StringExceededLength", "message": "Name is too long"}}
            responses.append({"id": op["id"], "status": 400, "body": body})
        else:
            body = {"id": f"0d000000-0000-4000-8000-{number:012d}", "@odata.etag": f'W/"{number}"'}
            responses.append({"id": op["id"], "status": 201 if op["method"] == "POST" else 200, "body": body})
    return Reply(json={"responses": responses})


def test_write_many_sends_json_batches_of_at_most_100_with_continue_on_error(
    bc: BusinessCentralHook, wire: FakeWire
) -> None:
    wire.on("POST", BATCH, json_batch_reply, repeat=True)
    records = [{"number": f"C{i}", "displayName": f"Customer {i}"} for i in range(250)]

    results = bc.write_many("customers", records, "create")

    assert len(results) == 250 and all(r.ok for r in results)
    assert [r.index for r in results] == list(range(250))
    batches = wire.to(BATCH)
    assert sorted(len(b.json()["requests"]) for b in batches) == [50, 100, 100]
    for batch in batches:
        assert batch.headers["Prefer"] == "odata.continue-on-error"
        assert batch.headers["Content-Type"] == "application/json"
        assert batch.json()["requests"][0]["url"] == f"companies({COMPANY})/customers"
        assert batch.json()["requests"][0]["method"] == "POST"


def test_one_bad_operation_fails_alone(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on("POST", BATCH, lambda sent: json_batch_reply(sent, failing={2}))
    records = [{"number": "C1"}, {"number": "C2", "displayName": "x" * 200}, {"number": "C3"}]

    results = bc.write_many("customers", records, "create")

    assert [r.ok for r in results] == [True, False, True]
    assert results[0].id == "0d000000-0000-4000-8000-000000000001" and results[0].etag == 'W/"1"'
    assert results[1].error is not None and results[1].error.code == "Application_StringExceededLength"


def test_batch_updates_carry_each_records_etag_or_the_explicit_if_match(
    bc: BusinessCentralHook, wire: FakeWire
) -> None:
    wire.on("POST", BATCH, json_batch_reply, json_batch_reply)

    bc.write_many("customers", [{"id": C1, "@odata.etag": 'W/"7"', "displayName": "A"}], "update")
    bc.write_many("customers", [{"id": C2, "displayName": "B"}], "update", if_match="*")

    first, second = (b.json()["requests"][0] for b in wire.to(BATCH))
    assert first["method"] == "PATCH" and first["url"] == f"companies({COMPANY})/customers({C1})"
    assert first["headers"]["If-Match"] == 'W/"7"' and first["body"] == {"displayName": "A"}
    assert second["headers"]["If-Match"] == "*"


def test_batch_update_without_etag_or_if_match_is_refused(bc: BusinessCentralHook, wire: FakeWire) -> None:
    with pytest.raises(ConfigurationError, match="if_match"):
        bc.write_many("customers", [{"id": C1, "displayName": "A"}], "update")
    assert wire.to(BATCH) == []


@pytest.mark.parametrize(
    ("max_in_flight", "cap"),
    [(None, 5), (2, 2)],  # BC's per-user limit whatever the connection asks; fewer in a task's pool slots
)
def test_never_more_requests_in_flight_than_bc_and_the_pool_slots_allow(
    wire: FakeWire, max_in_flight: int | None, cap: int
) -> None:
    wire.serve_entra()
    hook = BusinessCentralHook.from_connection(
        bc_connection(max_concurrency=10), adapter=wire, max_in_flight=max_in_flight
    )
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def slow(sent: Sent) -> Reply:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return json_batch_reply(sent)

    wire.on("POST", BATCH, slow, repeat=True)

    results = hook.write_many("customers", [{"number": str(i)} for i in range(1000)], "create", batch_size=50)

    assert len(results) == 1000 and len(wire.to(BATCH)) == 20
    assert hook.concurrency == cap
    assert 1 < peak[0] <= cap


def test_service_root_includes_tenant_and_environment(bc: BusinessCentralHook) -> None:
    assert bc.service_root() == f"{BC_URL}/v2.0/{TENANT}/production/"
    assert re.fullmatch(r"api/bcsync/sync/v1\.0", bc.route("custom"))
    assert bc.route("contoso/sync/v2.0") == "api/contoso/sync/v2.0"
    with pytest.raises(ConfigurationError):
        bc.route("../../evil")
