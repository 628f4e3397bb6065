"""Business Central reads: `lastModifiedDateTime` filters, `$orderby`, `$select`, `$expand`, `$top`,
server-driven paging with `Prefer: odata.maxpagesize`, and the errors for bad queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from test_bc_routing import assert_bc_error

from sandbox.launcher import RunningSandbox


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


def customers(sandbox: RunningSandbox, session: requests.Session, **params: str) -> list[dict]:
    response = session.get(f"{sandbox.bc_company_url}/customers", params=params)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_entities_carry_guid_ids_weak_etags_and_b3_property_names(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    customer = customers(sandbox, session, **{"$top": "1"})[0]

    assert customer["@odata.etag"].startswith('W/"JzE5O')
    assert len(customer["id"]) == 36
    expected = {"number", "displayName", "type", "addressLine1", "postalCode", "phoneNumber", "email"}
    expected |= {"website", "salespersonCode", "balanceDue", "creditLimit", "currencyCode", "blocked"}
    assert expected | {"lastModifiedDateTime"} <= customer.keys()
    assert "faxNo" not in customer  # custom-API field, not on the standard page


@pytest.mark.parametrize("operator", ["gt", "ge", "lt", "le", "eq"])
def test_last_modified_filter_operators(
    sandbox: RunningSandbox, session: requests.Session, operator: str
) -> None:
    everyone = customers(sandbox, session, **{"$select": "id,lastModifiedDateTime"})
    pivot = sorted(everyone, key=lambda c: c["lastModifiedDateTime"])[len(everyone) // 2]
    moment = pivot["lastModifiedDateTime"]
    compare = {
        "gt": lambda v: v > stamp(moment),
        "ge": lambda v: v >= stamp(moment),
        "lt": lambda v: v < stamp(moment),
        "le": lambda v: v <= stamp(moment),
        "eq": lambda v: v == stamp(moment),
    }[operator]

    found = customers(sandbox, session, **{"$filter": f"lastModifiedDateTime {operator} {moment}"})

    expected = {c["id"] for c in everyone if compare(stamp(c["lastModifiedDateTime"]))}
    assert {c["id"] for c in found} == expected
    assert expected


def test_and_filter_with_orderby_descending(sandbox: RunningSandbox, session: requests.Session) -> None:
    since = (datetime.now(UTC) - timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = customers(
        sandbox,
        session,
        **{
            "$filter": f"lastModifiedDateTime gt {since} and blocked eq ' '",
            "$orderby": "lastModifiedDateTime desc",
        },
    )

    stamps = [c["lastModifiedDateTime"] for c in found]
    assert stamps == sorted(stamps, reverse=True)
    assert found and all(c["blocked"] == " " for c in found)


def test_select_returns_only_the_named_properties_and_the_etag(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    found = customers(sandbox, session, **{"$select": "number,displayName", "$top": "3"})

    assert len(found) == 3
    assert all(set(c) == {"@odata.etag", "number", "displayName"} for c in found)


def test_top_limits_the_rows_without_a_next_link(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.get(f"{sandbox.bc_company_url}/customers", params={"$top": "2"})

    assert len(response.json()["value"]) == 2
    assert "@odata.nextLink" not in response.json()


def test_default_order_is_the_primary_key(sandbox: RunningSandbox, session: requests.Session) -> None:
    numbers = [c["number"] for c in customers(sandbox, session, **{"$select": "number"})]
    assert numbers == sorted(numbers, key=str.lower)


def test_server_paging_follows_next_links_to_every_row(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    everyone = [c["id"] for c in customers(sandbox, session, **{"$select": "id"})]
    url = f"{sandbox.bc_company_url}/customers?$select=id"
    seen: list[str] = []
    pages = 0
    while url:
        response = session.get(url, headers={"Prefer": "odata.maxpagesize=7"})
        assert response.status_code == 200, response.text
        assert response.headers["Preference-Applied"] == "odata.maxpagesize=7"
        body = response.json()
        assert len(body["value"]) <= 7
        seen += [c["id"] for c in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            assert "$skiptoken=" in url or "%24skiptoken=" in url
        pages += 1

    assert seen == everyone
    assert pages == -(-len(everyone) // 7)  # no empty trailing page


def test_paging_with_top_stops_at_top(sandbox: RunningSandbox, session: requests.Session) -> None:
    url = f"{sandbox.bc_company_url}/customers?$top=5&$select=id"
    seen = []
    while url:
        body = session.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
        seen += body["value"]
        url = body.get("@odata.nextLink")

    assert len(seen) == 5


def test_page_size_above_the_maximum_is_413(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.get(
        f"{sandbox.bc_company_url}/customers", headers={"Prefer": "odata.maxpagesize=20001"}
    )
    assert_bc_error(response, 413, "Request_EntityTooLarge")


def test_expand_currency_on_customers(sandbox: RunningSandbox, session: requests.Session) -> None:
    found = customers(
        sandbox, session, **{"$expand": "currency", "$select": "number,currencyId,currencyCode"}
    )

    with_currency = [c for c in found if c["currencyCode"]]
    without = [c for c in found if not c["currencyCode"]]
    assert all(c["currency"]["id"] == c["currencyId"] for c in with_currency)
    assert all(c["currency"]["code"] == c["currencyCode"] for c in with_currency)
    assert all(c["currency"] is None for c in without)


def test_sales_invoices_expand_lines_and_mix_draft_and_posted(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    customer = customers(sandbox, session, **{"$top": "1"})[0]
    draft = session.post(
        f"{sandbox.bc_company_url}/salesInvoices", json={"customerNumber": customer["number"]}
    )
    assert draft.status_code == 201, draft.text

    response = session.get(f"{sandbox.bc_company_url}/salesInvoices", params={"$expand": "salesInvoiceLines"})

    invoices = response.json()["value"]
    statuses = {invoice["status"] for invoice in invoices}
    assert "Draft" in statuses and statuses & {"Open", "Paid", "Canceled", "Corrective"}
    posted = next(i for i in invoices if i["status"] in ("Open", "Paid") and i["salesInvoiceLines"])
    assert all(line["documentId"] == posted["id"] for line in posted["salesInvoiceLines"])
    assert sum(line["amountExcludingTax"] for line in posted["salesInvoiceLines"]) == pytest.approx(
        posted["totalAmountExcludingTax"]
    )


def test_lines_nested_and_top_level_are_the_same_rows(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    invoice = session.get(
        f"{sandbox.bc_company_url}/salesInvoices", params={"$filter": "status eq 'Paid'", "$top": "1"}
    ).json()["value"][0]

    nested = session.get(f"{sandbox.bc_company_url}/salesInvoices({invoice['id']})/salesInvoiceLines").json()
    top_level = session.get(
        f"{sandbox.bc_company_url}/salesInvoiceLines", params={"$filter": f"documentId eq {invoice['id']}"}
    ).json()

    assert nested["value"] and nested["value"] == top_level["value"]


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"$filter": "lastModifiedDateTime gt"}, "BadRequest", "Syntax error"),
        ({"$filter": "displayName eq 5"}, "BadRequest", "displayName"),
        ({"$filter": "noSuchField eq 1"}, "BadRequest_NotFound", "noSuchField"),
        ({"$select": "number,noSuchField"}, "BadRequest_NotFound", "noSuchField"),
        ({"$orderby": "noSuchField"}, "BadRequest_NotFound", "noSuchField"),
        ({"$expand": "noSuchNavigation"}, "BadRequest_NotFound", "noSuchNavigation"),
        ({"$skiptoken": "garbage"}, "BadRequest", "skiptoken"),
        ({"$top": "-1"}, "BadRequest", "$top"),
        ({"$skip": "10"}, "BadRequest", "$skip"),
    ],
)
def test_bad_query_options_are_bad_requests(
    sandbox: RunningSandbox, session: requests.Session, params: dict[str, str], code: str, fragment: str
) -> None:
    response = session.get(f"{sandbox.bc_company_url}/customers", params=params)
    assert fragment in assert_bc_error(response, 400, code)
