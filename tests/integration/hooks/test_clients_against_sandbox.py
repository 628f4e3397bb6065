"""Both hooks against the real local services over HTTPS: MSAL tokens, paging, escaping, writes, faults.

Connections come from `AIRFLOW_CONN_*` JSON variables built by `sandbox_connections`, the way Airflow
finds them in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bcsync.hooks import BusinessCentralHook, DataverseHook
from bcsync.wire import RecordRejected
from bcsync.wire.odata import eq, in_
from bcsync_dev.sandbox_connections import sandbox_connections


@pytest.fixture
def connections(sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in sandbox_connections(sandbox).items():
        monkeypatch.setenv(name, value)
    yield
    for service in ("dataverse", "bc"):
        sandbox.admin(service, "DELETE", "faults")


@pytest.fixture
def dataverse(connections) -> DataverseHook:
    return DataverseHook()


@pytest.fixture
def bc(connections) -> BusinessCentralHook:
    return BusinessCentralHook()


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


# -- connectivity ---------------------------------------------------------------------------------


def test_dataverse_whoami_through_msal_and_the_local_ca(dataverse: DataverseHook) -> None:
    me = dataverse.whoami()

    assert uuid.UUID(me["UserId"]) and uuid.UUID(me["OrganizationId"])


def test_bc_lists_the_configured_company(bc: BusinessCentralHook, sandbox) -> None:
    assert sandbox.company_id in [company["id"] for company in bc.companies()]


# -- Dataverse ------------------------------------------------------------------------------------


def test_dataverse_filter_matches_names_with_quotes_ampersands_and_plus(dataverse: DataverseHook) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [f"O'Brien & Co {tag}", f"a+b#c?d {tag}", f"Ørsted/ÆØÅ {tag}", f"plain {tag}"]
    for name in names:
        dataverse.create("accounts", {"name": name})

    for name in names[:3]:
        rows = [
            r for p in dataverse.iter_pages("accounts", select=["name"], filter=eq("name", name)) for r in p
        ]
        assert [r["name"] for r in rows] == [name]
    injected = eq("name", f"x' or name eq 'plain {tag}")
    assert [r for p in dataverse.iter_pages("accounts", select=["name"], filter=injected) for r in p] == []


def test_dataverse_paging_streams_every_row_once(dataverse: DataverseHook) -> None:
    tag = unique("paging")
    dataverse.write_many("accounts", "account", [{"name": tag, "accountnumber": str(i)} for i in range(7)])

    pages = list(
        dataverse.iter_pages("accounts", select=["accountnumber"], filter=eq("name", tag), page_size=3)
    )

    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(r["accountnumber"] for p in pages for r in p) == [str(i) for i in range(7)]


def routes(sandbox, service: str) -> dict[str, dict[str, int]]:
    """Requests per `METHOD path-template` and status since the last reset."""
    return sandbox.admin(service, "GET", "stats")["by_route"]


def test_dataverse_bulk_create_keeps_client_chosen_ids_and_isolates_a_bad_record(
    dataverse: DataverseHook, sandbox
) -> None:
    dataverse.supports_bulk("account", "create")
    sandbox.admin("dataverse", "POST", "stats/reset")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    records = [
        {"accountid": ids[0], "name": unique("bulk")},
        {"accountid": ids[1], "name": "x" * 500},  # longer than name's 160 characters
        {"accountid": ids[2], "name": unique("bulk")},
    ]

    results = dataverse.write_many("accounts", "account", records, "create")

    assert [r.ok for r in results] == [True, False, True]
    assert [r.id for r in results] == ids
    assert isinstance(results[1].error, RecordRejected) and results[1].error.status == 400
    assert dataverse.get("accounts", ids[0], select=["name"])["name"] == records[0]["name"]
    assert dataverse.get("accounts", ids[1], select=["name"]) is None
    wire = routes(sandbox, "dataverse")
    assert wire["POST /api/data/v9.2/accounts/Microsoft.Dynamics.CRM.CreateMultiple"] == {"400": 1}
    assert wire["POST /api/data/v9.2/$batch"] == {"200": 1}


def test_dataverse_update_and_upsert_many(dataverse: DataverseHook) -> None:
    ids = [str(uuid.uuid4()) for _ in range(2)]
    dataverse.write_many("accounts", "account", [{"accountid": i, "name": "before"} for i in ids])

    updated = dataverse.write_many(
        "accounts", "account", [{"accountid": i, "name": "after"} for i in ids], "update"
    )
    fresh = str(uuid.uuid4())
    upserted = dataverse.write_many(
        "accounts",
        "account",
        [{"accountid": ids[0], "name": "again"}, {"accountid": fresh, "name": "new"}],
        "upsert",
    )

    assert all(r.ok for r in updated + upserted)
    assert dataverse.get("accounts", ids[1], select=["name"])["name"] == "after"
    assert dataverse.get("accounts", ids[0], select=["name"])["name"] == "again"
    assert dataverse.get("accounts", fresh, select=["name"])["name"] == "new"


def test_dataverse_batch_fallback_for_a_table_without_bulk_messages(dataverse: DataverseHook) -> None:
    assert dataverse.supports_bulk("transactioncurrency", "create") is False
    code = uuid.uuid4().hex[:3].upper()
    records = [
        {
            "currencyname": f"Test {code}",
            "isocurrencycode": f"Q{code[:2]}",
            "currencysymbol": "q",
            "currencyprecision": 2,
            "exchangerate": 1.5,
        },
        {
            "currencyname": "Bad",
            "isocurrencycode": "TOOLONGCODE",
            "currencysymbol": "b",
            "currencyprecision": 2,
            "exchangerate": 1.0,
        },
    ]

    results = dataverse.write_many("transactioncurrencies", "transactioncurrency", records, "create")

    assert results[0].ok and uuid.UUID(results[0].id or "")
    assert not results[1].ok and results[1].error.status == 400  # type: ignore[union-attr]


def test_dataverse_change_tracking_reports_changes_and_deletes(dataverse: DataverseHook) -> None:
    first = dataverse.track_changes("accounts", select=["name"], page_size=5000)
    for _ in first:
        pass
    keep, gone = str(uuid.uuid4()), str(uuid.uuid4())
    dataverse.write_many(
        "accounts", "account", [{"accountid": keep, "name": "k"}, {"accountid": gone, "name": "g"}]
    )
    dataverse.delete("accounts", gone)
    dataverse.update("accounts", keep, {"name": "changed"})

    feed = dataverse.track_changes("accounts", select=["name"], delta_link=first.delta_link)
    pages = list(feed)

    changed = {r["accountid"]: r["name"] for p in pages for r in p.changed}
    deleted = {i for p in pages for i in p.deleted_ids}
    assert changed.get(keep) == "changed"
    assert gone in deleted
    assert feed.delta_link != first.delta_link


def test_dataverse_retries_a_throttled_request(dataverse: DataverseHook, sandbox) -> None:
    sandbox.admin(
        "dataverse",
        "POST",
        "faults",
        {
            "rules": [
                {
                    "method": "GET",
                    "path": "WhoAmI",
                    "fault": "status",
                    "status": 429,
                    "count": 2,
                    "retry_after": 0,
                }
            ]
        },
    )

    sandbox.admin("dataverse", "POST", "stats/reset")

    assert dataverse.whoami()["UserId"]
    assert sandbox.admin("dataverse", "GET", "faults")["rules"] == []
    assert routes(sandbox, "dataverse")["GET /api/data/v9.2/WhoAmI"] == {"429": 2, "200": 1}


def test_a_refused_token_is_renewed_once_through_entra(dataverse: DataverseHook, sandbox) -> None:
    dataverse.whoami()  # a cached token exists
    sandbox.admin("entra", "POST", "stats/reset")
    sandbox.admin(
        "dataverse",
        "POST",
        "faults",
        {"rules": [{"method": "GET", "path": "WhoAmI", "fault": "status", "status": 401, "count": 1}]},
    )

    assert dataverse.whoami()["UserId"]
    assert sum(routes(sandbox, "entra")["POST /{id}/oauth2/v2.0/token"].values()) == 1


# -- Business Central -----------------------------------------------------------------------------


def test_bc_create_update_with_etag_and_stale_etag_is_rejected(bc: BusinessCentralHook) -> None:
    created = bc.create("customers", {"displayName": "O'Brien & Co"})
    etag = created["@odata.etag"]

    updated = bc.update("customers", created["id"], {"displayName": "O'Brien & Sons"}, etag=etag)

    assert updated["displayName"] == "O'Brien & Sons" and updated["@odata.etag"] != etag
    with pytest.raises(RecordRejected) as stale:
        bc.update("customers", created["id"], {"displayName": "late"}, etag=etag)
    assert stale.value.status in (409, 412)
    found = [
        r
        for p in bc.iter_pages("customers", select=["displayName"], filter=eq("id", uuid.UUID(created["id"])))
        for r in p
    ]
    assert [r["displayName"] for r in found] == ["O'Brien & Sons"]


def test_bc_write_many_isolates_a_bad_record_and_pages_through_the_rest(
    bc: BusinessCentralHook, sandbox
) -> None:
    tag = uuid.uuid4().hex[:6]
    records = [{"displayName": f"batch {tag} {i}"} for i in range(120)]
    records[57] = {"displayName": "y" * 300}  # displayName holds 100 characters

    sandbox.admin("bc", "POST", "stats/reset")

    results = bc.write_many("customers", records, "create")

    assert [i for i, r in enumerate(results) if not r.ok] == [57]
    batches = {route: hits for route, hits in routes(sandbox, "bc").items() if route.endswith("$batch")}
    assert batches == {f"POST /v2.0/{{id}}/{sandbox.bc_environment}/api/v2.0/$batch": {"200": 2}}
    assert all(r.id for r in results if r.ok)
    names = [f"batch {tag} {i}" for i in (0, 1, 119)]
    rows = [
        r
        for p in bc.iter_pages(
            "customers", select=["displayName"], filter=in_("displayName", names), page_size=2
        )
        for r in p
    ]
    assert sorted(r["displayName"] for r in rows) == sorted(names)


def test_bc_custom_api_route_serves_price_groups(bc: BusinessCentralHook) -> None:
    pages = list(bc.iter_pages("customerPriceGroups", select=["code", "description"], api="custom"))

    assert all("code" in row for page in pages for row in page)
