"""DataverseHook reads and writes as they cross the wire: paging, change tracking, bulk messages, $batch."""

from __future__ import annotations

import json
import re

import pytest
from client_connections import DATAVERSE_API
from wire_fake import FakeWire, Reply, Sent, odata_error

from bcsync.hooks import DataverseHook
from bcsync.wire import ConfigurationError, RecordRejected, ServiceUnavailable
from bcsync.wire.odata import eq

ACCOUNTS = r"/api/data/v9\.2/accounts\?"
A1 = "0a000000-0000-4000-8000-000000000001"
A2 = "0a000000-0000-4000-8000-000000000002"
A3 = "0a000000-0000-4000-8000-000000000003"


def page(rows: list[dict], next_link: str | None = None, **extra: str) -> Reply:
    body: dict = {"@odata.context": f"{DATAVERSE_API}/$metadata#accounts", "value": rows, **extra}
    if next_link:
        body["@odata.nextLink"] = next_link
    return Reply(json=body)


# -- paging ---------------------------------------------------------------------------------------


def test_paging_follows_next_link_and_resends_prefer_on_every_page(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    second = f"{DATAVERSE_API}/accounts?$select=name&$skiptoken=%3Ccookie%20page%3D%222%22%3E"
    wire.on("GET", ACCOUNTS + r"\$select", page([{"accountid": A1}], second))
    wire.on("GET", r"skiptoken", page([{"accountid": A2}, {"accountid": A3}]))

    pages = list(
        dataverse.iter_pages("accounts", select=["name"], filter=eq("name", "O'Brien & Co"), page_size=2)
    )

    assert pages == [[{"accountid": A1}], [{"accountid": A2}, {"accountid": A3}]]
    first, then = wire.sent[-2], wire.sent[-1]
    assert first.query == {"$select": "name", "$filter": "name eq 'O''Brien & Co'"}
    assert then.url == second
    assert [s.headers["Prefer"] for s in (first, then)] == ["odata.maxpagesize=2", "odata.maxpagesize=2"]


def test_pages_are_fetched_lazily(dataverse: DataverseHook, wire: FakeWire) -> None:
    wire.on("GET", ACCOUNTS, page([{"accountid": A1}], f"{DATAVERSE_API}/accounts?$skiptoken=2"))

    pages = dataverse.iter_pages("accounts", select=["name"])
    assert next(pages) == [{"accountid": A1}]
    assert len(wire.to(r"/accounts")) == 1  # the second page is not requested until asked for


def test_page_size_above_the_service_limit_is_a_configuration_error(dataverse: DataverseHook) -> None:
    with pytest.raises(ConfigurationError, match=r"page_size must be 1\.\.5000"):
        next(dataverse.iter_pages("accounts", select=["name"], page_size=10000))


def test_get_returns_none_for_a_missing_row(dataverse: DataverseHook, wire: FakeWire) -> None:
    wire.on(
        "GET",
        rf"accounts\({A1}\)\?\$select=name",
        odata_error(404, "0x80040217", "account With Id = ... Does Not Exist"),
    )

    assert dataverse.get("accounts", A1, select=["name"]) is None


# -- change tracking --------------------------------------------------------------------------------


def test_change_tracking_surfaces_deletes_and_returns_the_new_delta_link(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    old = f"{DATAVERSE_API}/accounts?$select=name&$deltatoken=919042%2108"
    new = f"{DATAVERSE_API}/accounts?$select=name&$deltatoken=919107%2108"
    wire.on(
        "GET",
        re.escape(old),
        page(
            [
                {"accountid": A1, "name": "Changed"},
                {
                    "@odata.context": f"{DATAVERSE_API}/$metadata#accounts/$deletedEntity",
                    "id": A2,
                    "reason": "deleted",
                },
            ],
            **{"@odata.deltaLink": new},
        ),
    )

    feed = dataverse.track_changes("accounts", select=["name"], delta_link=old)
    pages = list(feed)

    assert pages[0].changed == [{"accountid": A1, "name": "Changed"}]
    assert pages[0].deleted_ids == [A2]
    assert feed.delta_link == new
    assert wire.sent[-1].headers["Prefer"] == "odata.maxpagesize=5000,odata.track-changes"


def test_first_change_tracking_read_selects_columns_and_sends_no_filter(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    wire.on(
        "GET",
        ACCOUNTS,
        page([{"accountid": A1}], **{"@odata.deltaLink": f"{DATAVERSE_API}/accounts?$deltatoken=1"}),
    )

    feed = dataverse.track_changes("accounts", select=["name", "accountnumber"])
    with pytest.raises(RuntimeError, match="after every page"):
        _ = feed.delta_link
    list(feed)

    assert wire.sent[-1].query == {"$select": "name,accountnumber"}
    assert feed.delta_link.endswith("$deltatoken=1")


# -- single writes ----------------------------------------------------------------------------------


def test_create_returns_the_id_from_odata_entity_id(dataverse: DataverseHook, wire: FakeWire) -> None:
    wire.on(
        "POST",
        r"/accounts$",
        Reply(status=204, headers={"OData-EntityId": f"{DATAVERSE_API}/accounts({A1})"}),
    )

    assert dataverse.create("accounts", {"accountid": A1, "name": "Fabrikam"}) == A1
    assert wire.sent[-1].json() == {"accountid": A1, "name": "Fabrikam"}


def test_update_sends_if_match_star_by_default_and_an_etag_when_given(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    wire.on("PATCH", rf"accounts\({A1}\)$", Reply(status=204), Reply(status=204))

    dataverse.update("accounts", A1, {"name": "x"})
    dataverse.update("accounts", A1, {"name": "y"}, if_match='W/"42"')

    assert [s.headers["If-Match"] for s in wire.to(r"accounts\(")] == ["*", 'W/"42"']


def test_upsert_by_alternate_key_encodes_the_key_in_the_url(dataverse: DataverseHook, wire: FakeWire) -> None:
    wire.on(
        "PATCH",
        r"accounts\(accountnumber=",
        Reply(status=204, headers={"OData-EntityId": f"{DATAVERSE_API}/accounts({A3})"}),
    )

    assert dataverse.upsert("accounts", {"accountnumber": "C&A #1"}, {"name": "C&A"}) == A3
    assert "accounts(accountnumber='C%26A%20%231')" in wire.sent[-1].url
    assert "If-Match" not in wire.sent[-1].headers


# -- bulk writes ------------------------------------------------------------------------------------


def supports(wire: FakeWire, *messages: str) -> None:
    def answer(sent: Sent) -> Reply:
        message = re.search(r"name eq '(\w+)'", sent.query["$filter"]).group(1)  # type: ignore[union-attr]
        return Reply(json={"value": [{"sdkmessagefilterid": "f"}] if message in messages else []})

    wire.on("GET", r"/sdkmessagefilters\?", answer, repeat=True)


def multipart_reply(*statuses: tuple[int, dict | None, dict[str, str]]) -> Reply:
    lines = []
    for status, body, headers in statuses:
        lines += [
            "--batchresponse_1",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
        ]
        lines.append(f"HTTP/1.1 {status} Whatever")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += ["", json.dumps(body) if body is not None else ""]
    lines += ["--batchresponse_1--", ""]
    return Reply(
        body="\r\n".join(lines), headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"}
    )


def batch_parts(sent: Sent) -> list[str]:
    """Request lines of the parts of a multipart batch request."""
    return re.findall(r"^(?:POST|PATCH|DELETE|GET) \S+ HTTP/1\.1", sent.body.decode(), flags=re.MULTILINE)


def test_create_many_uses_create_multiple_in_batches(dataverse: DataverseHook, wire: FakeWire) -> None:
    supports(wire, "CreateMultiple")
    ids = {f"Account {i}": f"0b000000-0000-4000-8000-00000000000{i}" for i in range(5)}

    def created(sent: Sent) -> Reply:
        return Reply(json={"Ids": [ids[target["name"]] for target in sent.json()["Targets"]]})

    wire.on("POST", r"accounts/Microsoft\.Dynamics\.CRM\.CreateMultiple$", created, created, created)
    records = [{"name": name} for name in ids]

    results = dataverse.write_many("accounts", "account", records, "create", batch_size=2)

    assert [r.id for r in results] == list(ids.values()) and all(r.ok for r in results)
    bulk = wire.to(r"CreateMultiple$", "POST")
    assert sorted(len(s.json()["Targets"]) for s in bulk) == [1, 2, 2]
    assert {"name": "Account 0", "@odata.type": "Microsoft.Dynamics.CRM.account"} in [
        t for s in bulk for t in s.json()["Targets"]
    ]
    assert len(wire.to(r"sdkmessagefilters")) == 1  # probed once, cached


def test_one_bad_record_fails_alone_when_the_bulk_request_is_refused(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    supports(wire, "CreateMultiple")
    wire.on("POST", r"CreateMultiple$", odata_error(400, "0x80044331", "A validation error occurred."))
    wire.on(
        "POST",
        r"/\$batch$",
        multipart_reply(
            (204, None, {"OData-EntityId": f"{DATAVERSE_API}/accounts({A1})"}),
            (400, {"error": {"code": "0x80044331", "message": "name is too long"}}, {}),
            (204, None, {"OData-EntityId": f"{DATAVERSE_API}/accounts({A3})"}),
        ),
    )
    records = [
        {"accountid": A1, "name": "ok"},
        {"accountid": A2, "name": "x" * 200},
        {"accountid": A3, "name": "ok"},
    ]

    results = dataverse.write_many("accounts", "account", records, "create")

    assert [r.ok for r in results] == [True, False, True]
    assert [r.id for r in results] == [A1, A2, A3]
    error = results[1].error
    assert isinstance(error, RecordRejected) and error.code == "0x80044331" and error.record_id == A2
    batch = wire.to(r"/\$batch$")[0]
    assert batch.headers["Prefer"] == "odata.continue-on-error"
    assert batch_parts(batch) == ["POST /api/data/v9.2/accounts HTTP/1.1"] * 3


def test_tables_without_bulk_messages_use_batch_of_at_most_1000(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    supports(wire)  # nothing supported

    def all_ok(sent: Sent) -> Reply:
        return multipart_reply(*[(204, None, {})] * len(batch_parts(sent)))

    wire.on("POST", r"/\$batch$", all_ok, all_ok)
    records = [{"contactid": f"0c000000-0000-4000-8000-{i:012d}", "lastname": "x"} for i in range(1500)]

    results = dataverse.write_many("contacts", "contact", records, "update", batch_size=1000)

    assert all(r.ok for r in results) and len(results) == 1500
    assert results[1499].id == records[1499]["contactid"]
    sizes = [len(batch_parts(s)) for s in wire.to(r"/\$batch$")]
    assert sorted(sizes) == [500, 1000]
    first = wire.to(r"/\$batch$")[0].body.decode()
    assert "If-Match: *" in first and '"contactid"' not in first  # the key travels in the URL only


def test_batch_size_above_1000_is_refused_before_any_write(dataverse: DataverseHook, wire: FakeWire) -> None:
    supports(wire)
    with pytest.raises(ConfigurationError, match=r"batch_size must be 1\.\.1000"):
        dataverse.write_many("contacts", "contact", [{"lastname": "x"}], "create", batch_size=5000)
    assert wire.to(r"\$batch") == []


def test_upsert_multiple_addresses_rows_by_key(dataverse: DataverseHook, wire: FakeWire) -> None:
    supports(wire, "CreateMultiple", "UpdateMultiple")
    wire.on("POST", r"UpsertMultiple$", Reply(status=204))

    results = dataverse.write_many("accounts", "account", [{"accountid": A1, "name": "n"}], "upsert")

    assert results[0].ok and results[0].id == A1
    target = wire.to(r"UpsertMultiple$")[0].json()["Targets"][0]
    assert target == {
        "name": "n",
        "@odata.id": f"accounts({A1})",
        "accountid": A1,
        "@odata.type": "Microsoft.Dynamics.CRM.account",
    }


def test_too_large_bulk_requests_are_split(dataverse: DataverseHook, wire: FakeWire) -> None:
    supports(wire, "CreateMultiple", "UpdateMultiple")
    wire.on(
        "POST",
        r"UpdateMultiple$",
        odata_error(413, "", "Request Entity Too Large"),
        Reply(status=204),
        Reply(status=204),
    )
    records = [{"accountid": a, "name": "n"} for a in (A1, A2, A3)]

    results = dataverse.write_many("accounts", "account", records, "update")

    assert all(r.ok for r in results)
    assert [len(s.json()["Targets"]) for s in wire.to(r"UpdateMultiple$")] == [3, 1, 2]


def test_throttled_batch_parts_are_resent_alone(dataverse: DataverseHook, wire: FakeWire, sleeps) -> None:
    supports(wire)
    wire.on(
        "POST",
        r"/\$batch$",
        multipart_reply(
            (204, None, {}),
            (429, {"error": {"code": "0x80072322", "message": "limit"}}, {"Retry-After": "4"}),
        ),
        multipart_reply((204, None, {})),
    )

    results = dataverse.write_many("accounts", "account", [{"accountid": A1}, {"accountid": A2}], "delete")

    assert all(r.ok for r in results)
    assert [batch_parts(s) for s in wire.to(r"\$batch")] == [
        [f"DELETE /api/data/v9.2/accounts({A1}) HTTP/1.1", f"DELETE /api/data/v9.2/accounts({A2}) HTTP/1.1"],
        [f"DELETE /api/data/v9.2/accounts({A2}) HTTP/1.1"],
    ]
    assert sleeps == [4.0]


def test_persistently_throttled_parts_fail_the_task(dataverse: DataverseHook, wire: FakeWire, sleeps) -> None:
    supports(wire)
    wire.on("POST", r"/\$batch$", multipart_reply((503, None, {"Retry-After": "1"})), repeat=True)

    with pytest.raises(ServiceUnavailable):
        dataverse.write_many("accounts", "account", [{"accountid": A1}], "delete")
    assert len(wire.to(r"\$batch")) == 6  # first try + max_retries (5)


def test_update_without_primary_keys_is_refused_before_any_request(
    dataverse: DataverseHook, wire: FakeWire
) -> None:
    with pytest.raises(ConfigurationError, match="lacks the primary key 'accountid'"):
        dataverse.write_many("accounts", "account", [{"name": "no key"}], "update")
    assert [s for s in wire.sent if "/api/data/" in s.url] == []


def test_nothing_to_write_sends_nothing(dataverse: DataverseHook, wire: FakeWire) -> None:
    assert dataverse.write_many("accounts", "account", [], "create") == []
    assert wire.sent == []
