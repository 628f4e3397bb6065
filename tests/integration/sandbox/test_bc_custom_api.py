"""The bcsync custom API route (`api/bcsync/sync/v1.0`): pages over the same tables as the standard
API, the fields the default mappings need, price groups, prices, resources and customer statistics."""

from __future__ import annotations

import uuid

import pytest
import requests
from test_bc_routing import assert_bc_error

from sandbox.launcher import RunningSandbox


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


@pytest.fixture
def custom(sandbox: RunningSandbox) -> str:
    route = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api/bcsync/sync/v1.0"
    return f"{route}/companies({sandbox.company_id})"


def test_custom_customer_page_shows_the_same_record_as_the_standard_page(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    standard = session.post(
        f"{sandbox.bc_company_url}/customers",
        json={"displayName": "Custom Co", "website": "www.custom.example"},
    ).json()

    extension = session.get(f"{custom}/customers({standard['id']})").json()

    assert extension["no"] == standard["number"] and extension["name"] == "Custom Co"
    assert extension["homePage"] == "www.custom.example"
    assert extension["@odata.etag"] == standard["@odata.etag"]
    for name in ("faxNo", "primaryContactNo", "shippingAgentCode", "shipmentMethodCode", "paymentTermsCode"):
        assert extension[name] == ""


def test_write_through_custom_page_changes_the_standard_record(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    standard = session.post(f"{sandbox.bc_company_url}/customers", json={"displayName": "Fax Co"}).json()

    response = session.patch(
        f"{custom}/customers({standard['id']})",
        json={"faxNo": "+47 555 0100", "shippingAgentCode": "dhl", "homePage": "www.fax.example"},
        headers={"If-Match": standard["@odata.etag"]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["shippingAgentCode"] == "DHL"
    after = session.get(f"{sandbox.bc_company_url}/customers({standard['id']})").json()
    assert after["website"] == "www.fax.example"
    assert after["@odata.etag"] == response.json()["@odata.etag"] != standard["@odata.etag"]
    assert after["lastModifiedDateTime"] > standard["lastModifiedDateTime"]


def test_custom_filter_on_a_renamed_property(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    first = session.get(f"{custom}/customers", params={"$top": "1"}).json()["value"][0]

    found = session.get(
        f"{custom}/customers", params={"$filter": f"no eq '{first['no']}'", "$select": "id,no"}
    )

    assert found.json()["value"] == [
        {"@odata.etag": first["@odata.etag"], "id": first["id"], "no": first["no"]}
    ]


def test_price_groups_prices_and_resources(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    groups = session.get(f"{custom}/customerPriceGroups").json()["value"]
    prices = session.get(
        f"{custom}/salesPrices",
        params={"$filter": f"salesType eq 'Customer Price Group' and salesCode eq '{groups[0]['code']}'"},
    ).json()["value"]
    resources = session.get(f"{custom}/resources").json()["value"]

    assert {"id", "code", "description", "lastModifiedDateTime"} <= groups[0].keys()
    assert (
        prices
        and {"itemNo", "salesCode", "currencyCode", "unitOfMeasureCode", "unitPrice"} <= prices[0].keys()
    )
    assert (
        resources
        and {"no", "name", "type", "baseUnitOfMeasure", "unitPrice", "capacity"} <= resources[0].keys()
    )


def test_price_group_create_and_duplicate_code(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    code = f"G{uuid.uuid4().hex[:6]}"
    created = session.post(f"{custom}/customerPriceGroups", json={"code": code, "description": "Test group"})
    duplicate = session.post(f"{custom}/customerPriceGroups", json={"code": code.lower()})

    assert created.status_code == 201 and created.json()["code"] == code.upper()
    assert_bc_error(duplicate, 400, "Internal_EntityWithSameKeyExists")


def test_sales_price_for_unknown_item_fails_validation(session: requests.Session, custom: str) -> None:
    response = session.post(f"{custom}/salesPrices", json={"itemNo": "NO-SUCH-ITEM", "unitPrice": 1})
    assert_bc_error(response, 400, "Application_FieldValidationException")


def test_customer_statistics_are_read_only_ledger_figures(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    statistics = session.get(f"{custom}/customerStatistics", params={"$top": "1"}).json()["value"][0]

    figures = {"balanceLCY", "outstandingOrdersLCY", "shippedNotInvoicedLCY", "outstandingInvoicesLCY"}
    figures |= {"creditLimitLCY", "overdueAmountsLCY", "overdueAmountsAsOf", "salesLCY", "totalAmountLCY"}
    assert figures <= statistics.keys()
    patch = session.patch(
        f"{custom}/customerStatistics({statistics['id']})", json={"balanceLCY": 1}, headers={"If-Match": "*"}
    )
    assert_bc_error(patch, 405, "BadRequest_MethodNotAllowed")


def test_custom_sales_invoice_page_has_the_posted_invoice_sync_fields(
    session: requests.Session, custom: str
) -> None:
    invoice = session.get(
        f"{custom}/salesInvoices", params={"$filter": "status eq 'Paid'", "$top": "1"}
    ).json()

    fields = {"no", "status", "shipmentDate", "shippingAgentCode", "paymentTermsCode", "workDescription"}
    assert fields <= invoice["value"][0].keys()


def test_standard_properties_are_not_on_custom_pages(session: requests.Session, custom: str) -> None:
    response = session.get(f"{custom}/customers", params={"$select": "displayName"})
    assert "displayName" in assert_bc_error(response, 400, "BadRequest_NotFound")


def test_create_through_custom_page_assigns_the_series_number(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    response = session.post(f"{custom}/customers", json={"name": "Series Co", "faxNo": "+1 555 0199"})

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["no"].startswith("C")
    assert response.headers["Location"].endswith(f"/customers({created['id']})")
    standard = session.get(f"{sandbox.bc_company_url}/customers({created['id']})").json()
    assert (standard["number"], standard["displayName"]) == (created["no"], "Series Co")


# Configuration templates: read-only pages over Config. Template Header and Line, seeded with
# CUSTOMER's "Table Config Template Code" BCICUST.


def test_bcicust_template_and_its_lines_are_read_by_code(session: requests.Session, custom: str) -> None:
    headers = session.get(f"{custom}/configTemplates", params={"$filter": "code eq 'BCICUST'"}).json()[
        "value"
    ]
    lines = session.get(
        f"{custom}/configTemplateLines",
        params={"$filter": "dataTemplateCode eq 'BCICUST'", "$orderby": "lineNo"},
    ).json()["value"]

    assert [(h["code"], h["tableId"], h["tableName"]) for h in headers] == [("BCICUST", 18, "Customer")]
    assert [(line["fieldName"], line["defaultValue"]) for line in lines] == [
        ("Payment Terms Code", "30 DAYS"),
        ("Shipment Method Code", "EXW"),
    ]


def test_templates_are_kept_in_bc_not_written_through_the_api(session: requests.Session, custom: str) -> None:
    response = session.post(f"{custom}/configTemplates", json={"code": "MINE"})
    assert response.status_code == 405, response.text
