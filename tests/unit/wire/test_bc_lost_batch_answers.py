"""BusinessCentralHook when the connection breaks after a `$batch` was sent: updates are re-read and
compared, never resent with ETags BC has already moved past; creates fail the task."""

from __future__ import annotations

import pytest
import requests
from wire_fake import FakeWire, Reply

from bcsync.hooks import BusinessCentralHook
from bcsync.wire.errors import OutcomeUnknown

APPLIED = "0c000000-0000-4000-8000-000000000001"
NOT_APPLIED = "0c000000-0000-4000-8000-000000000002"
CHANGED_BY_A_USER = "0c000000-0000-4000-8000-000000000003"
BATCH = r"/api/v2\.0/\$batch$"


def lost_answer(_sent):
    raise requests.ConnectionError("connection reset by peer")


def updated(sent) -> Reply:
    return Reply(
        json={
            "responses": [
                {"id": op["id"], "status": 200, "body": {"@odata.etag": 'W/"new"'}}
                for op in sent.json()["requests"]
            ]
        }
    )


def test_update_batch_whose_answer_was_lost_is_reread_and_only_unapplied_records_are_resent(
    bc: BusinessCentralHook, wire: FakeWire
) -> None:
    wire.on("POST", BATCH, lost_answer, updated)
    wire.on("GET", rf"/customers\({APPLIED}\)", Reply(json={"@odata.etag": 'W/"2"', "city": "Oslo"}))
    wire.on("GET", rf"/customers\({NOT_APPLIED}\)", Reply(json={"@odata.etag": 'W/"1"', "city": "Rome"}))
    wire.on(
        "GET", rf"/customers\({CHANGED_BY_A_USER}\)", Reply(json={"@odata.etag": 'W/"9"', "city": "Lima"})
    )
    records = [
        {"id": record_id, "@odata.etag": 'W/"1"', "city": "Oslo"}
        for record_id in (APPLIED, NOT_APPLIED, CHANGED_BY_A_USER)
    ]

    results = bc.write_many("customers", records, "update")

    assert [r.ok for r in results] == [True, True, False]
    assert results[0].etag == 'W/"2"'
    assert results[2].error.status == 409 and results[2].error.code == "Request_EntityChanged"
    resent = wire.to(BATCH)[-1].json()["requests"]
    assert [(op["url"].split("(")[-1], op["headers"]["If-Match"]) for op in resent] == [
        (f"{NOT_APPLIED})", 'W/"1"')
    ]
    rereads = [sent for sent in wire.sent if sent.method == "GET" and "/customers(" in sent.url]
    assert len(rereads) == 3
    assert all("Data-Access-Intent" not in sent.headers for sent in rereads), "not from the replica"


def test_create_batch_whose_answer_was_lost_fails_the_task(bc: BusinessCentralHook, wire: FakeWire) -> None:
    wire.on("POST", BATCH, lost_answer)

    with pytest.raises(OutcomeUnknown):
        bc.write_many("customers", [{"displayName": "A"}], "create")
    assert len(wire.to(BATCH)) == 1
