"""BC reference tables the sync engine reads: currency exchange rates, payment terms, shipment methods
(standard API v2.0), shipping agents and contact business relations (custom route), with the seed's
invariants: customers' codes name existing rows, one Customer relation per customer, no CHF rate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import requests
from test_bc_routing import assert_bc_error

from sandbox.launcher import RunningSandbox

SYSTEM = {"@odata.etag", "id", "lastModifiedDateTime"}
SEED_EPOCH = datetime.fromisoformat("2026-01-15T08:00:00+00:00")  # seed rows are modified before it


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


@pytest.fixture
def custom(sandbox: RunningSandbox) -> str:
    route = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api/bcsync/sync/v1.0"
    return f"{route}/companies({sandbox.company_id})"


def _rows(session: requests.Session, url: str, **params: str) -> list[dict[str, Any]]:
    """Every row of a collection, following `@odata.nextLink`."""
    response = session.get(url, params=params)
    rows: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["value"])
        if "@odata.nextLink" not in body:
            return rows
        response = session.get(body["@odata.nextLink"])


def _seeded(row: dict[str, Any]) -> bool:
    """Not touched by another test of the session since the seed wrote it."""
    return datetime.fromisoformat(row["lastModifiedDateTime"].replace("Z", "+00:00")) <= SEED_EPOCH


def test_exchange_rates_filter_by_currency(sandbox: RunningSandbox, session: requests.Session) -> None:
    rates = _rows(
        session,
        f"{sandbox.bc_company_url}/currencyExchangeRates",
        **{"$filter": "currencyCode eq 'EUR'", "$orderby": "startingDate"},
    )

    assert [set(rate) for rate in rates] == [
        SYSTEM
        | {
            "currencyCode",
            "startingDate",
            "exchangeRateAmount",
            "relationalCurrencyCode",
            "relationalExchangeRateAmount",
        }
    ] * 2
    older, current = rates
    assert {rate["currencyCode"] for rate in rates} == {"EUR"}
    assert older["startingDate"] < current["startingDate"] <= "2026-01-15"  # in force on the work date
    assert current["exchangeRateAmount"] == 100 and current["relationalExchangeRateAmount"] == 108.42
    assert current["relationalCurrencyCode"] == ""  # blank = the LCY (USD)
    assert older["relationalExchangeRateAmount"] < current["relationalExchangeRateAmount"]


def test_every_bc_currency_but_chf_has_a_rate_matching_dataverse(
    sandbox: RunningSandbox, session: requests.Session, dataverse_token: str, new_session
) -> None:
    currencies = {row["code"] for row in _rows(session, f"{sandbox.bc_company_url}/currencies")}
    rates = _rows(session, f"{sandbox.bc_company_url}/currencyExchangeRates", **{"$orderby": "startingDate"})
    current = {rate["currencyCode"]: rate for rate in rates}  # the latest starting date wins

    assert "CHF" in currencies and "CHF" not in current
    assert currencies - {"CHF"} <= current.keys()
    dataverse = new_session(sandbox.ca_file, dataverse_token)
    response = dataverse.get(
        f"{sandbox.dataverse_api}/transactioncurrencies", params={"$select": "isocurrencycode,exchangerate"}
    )
    assert response.status_code == 200, response.text
    shared = {row["isocurrencycode"]: row["exchangerate"] for row in response.json()["value"]}
    compared = shared.keys() & current.keys()
    assert compared >= {"EUR", "GBP", "CAD"}
    for code in compared:
        # Dataverse: units of the currency per 1 USD; BC: amount units = relational amount USD.
        bc_per_usd = current[code]["exchangeRateAmount"] / current[code]["relationalExchangeRateAmount"]
        assert shared[code] == pytest.approx(bc_per_usd, abs=1e-5), code


def test_exchange_rate_page_is_read_only_as_page_30085(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    response = session.post(
        f"{sandbox.bc_company_url}/currencyExchangeRates",
        json={"currencyCode": "CHF", "startingDate": "2026-01-01", "exchangeRateAmount": 100},
    )

    assert_bc_error(response, 405, "BadRequest_MethodNotAllowed")


def test_payment_terms_and_shipment_methods_pages(sandbox: RunningSandbox, session: requests.Session) -> None:
    terms = _rows(session, f"{sandbox.bc_company_url}/paymentTerms", **{"$filter": "code eq '1M(8D)'"})
    methods = _rows(session, f"{sandbox.bc_company_url}/shipmentMethods", **{"$filter": "code eq 'FOB'"})

    assert len(terms) == 1 and set(terms[0]) == SYSTEM | {
        "code",
        "displayName",
        "dueDateCalculation",
        "discountDateCalculation",
        "discountPercent",
        "calculateDiscountOnCreditMemos",
    }
    assert terms[0]["dueDateCalculation"] == "1M" and terms[0]["discountDateCalculation"] == "8D"
    assert terms[0]["discountPercent"] == 2 and terms[0]["calculateDiscountOnCreditMemos"] is False
    assert methods == [
        {
            "@odata.etag": methods[0]["@odata.etag"],
            "id": methods[0]["id"],
            "code": "FOB",
            "displayName": "Free on Board",
            "lastModifiedDateTime": methods[0]["lastModifiedDateTime"],
        }
    ]


def test_payment_terms_are_writable_with_codes_upper_cased(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    created = session.post(
        f"{sandbox.bc_company_url}/paymentTerms",
        json={"code": "21 days", "displayName": "Net 21 days", "dueDateCalculation": "21D"},
    )

    assert created.status_code == 201, created.text
    assert created.json()["code"] == "21 DAYS"
    duplicate = session.post(f"{sandbox.bc_company_url}/paymentTerms", json={"code": "21 DAYS"})
    assert_bc_error(duplicate, 400, "Internal_EntityWithSameKeyExists")


def test_customers_name_existing_payment_terms_and_shipment_methods(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    terms = {row["code"]: row["id"] for row in _rows(session, f"{sandbox.bc_company_url}/paymentTerms")}
    methods = {row["code"]: row["id"] for row in _rows(session, f"{sandbox.bc_company_url}/shipmentMethods")}
    agents = {row["code"] for row in _rows(session, f"{custom}/shippingAgents")}
    codes = {
        row["id"]: row
        for row in _rows(
            session,
            f"{custom}/customers",
            **{"$select": "id,lastModifiedDateTime,paymentTermsCode,shipmentMethodCode,shippingAgentCode"},
        )
        if _seeded(row)
    }
    ids = {
        row["id"]: row
        for row in _rows(
            session,
            f"{sandbox.bc_company_url}/customers",
            **{"$select": "id,paymentTermsId,shipmentMethodId"},
        )
    }

    assert len(codes) >= 10  # most seeded customers are untouched by other tests
    for customer_id, customer in codes.items():
        assert terms[customer["paymentTermsCode"]] == ids[customer_id]["paymentTermsId"]
        assert methods[customer["shipmentMethodCode"]] == ids[customer_id]["shipmentMethodId"]
        assert customer["shippingAgentCode"] in agents | {""}


def test_shipping_agents_on_the_custom_route(session: requests.Session, custom: str) -> None:
    agents = _rows(session, f"{custom}/shippingAgents", **{"$filter": "code eq 'DHL'"})

    assert len(agents) == 1
    assert set(agents[0]) == SYSTEM | {"code", "name", "internetAddress"}
    assert agents[0]["name"] == "DHL Systems, Inc." and "%1" in agents[0]["internetAddress"]
    codes = {row["code"] for row in _rows(session, f"{custom}/shippingAgents")}
    assert {"DHL", "FEDEX", "UPS"} <= codes  # the SHIPPING AGENT option mapping's codes


def test_one_customer_business_relation_per_customer_on_its_company_contact(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    relations = _rows(session, f"{custom}/contactBusinessRelations")
    customers = {
        row["number"]: row
        for row in _rows(
            session,
            f"{sandbox.bc_company_url}/customers",
            **{"$select": "number,displayName,lastModifiedDateTime"},
        )
    }
    contacts = {
        row["number"]: row
        for row in _rows(
            session,
            f"{sandbox.bc_company_url}/contacts",
            **{"$select": "number,type,companyNumber,displayName"},
        )
    }

    assert relations and set(relations[0]) == SYSTEM | {
        "contactNo",
        "businessRelationCode",
        "linkToTable",
        "no",
    }
    by_customer = {relation["no"]: relation for relation in relations}
    assert len(by_customer) == len(relations)  # one relation per customer
    assert {number for number, row in customers.items() if _seeded(row)} <= by_customer.keys()
    for number, relation in by_customer.items():
        assert relation["linkToTable"] == "Customer" and relation["businessRelationCode"] == "CUST"
        company = contacts[relation["contactNo"]]
        assert company["type"] == "Company" and company["companyNumber"] == relation["contactNo"]
        if _seeded(customers[number]):
            assert company["displayName"] == customers[number]["displayName"]


def test_business_relation_filter_finds_a_persons_customer(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    person = _rows(
        session,
        f"{sandbox.bc_company_url}/contacts",
        **{"$filter": "type eq 'Person'", "$top": "1", "$select": "number,companyNumber"},
    )[0]

    found = _rows(
        session,
        f"{custom}/contactBusinessRelations",
        **{"$filter": f"contactNo eq '{person['companyNumber']}' and linkToTable eq 'Customer'"},
    )

    assert len(found) == 1 and found[0]["no"]
    customer = _rows(
        session, f"{sandbox.bc_company_url}/customers", **{"$filter": f"number eq '{found[0]['no']}'"}
    )
    assert len(customer) == 1
