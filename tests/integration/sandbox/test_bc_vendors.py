"""BC vendors over HTTPS: the standard v2.0 `vendors` page, the custom bcsync `vendors` page over the
same rows, their `$metadata`, and the seeded vendors and the vendor accounts Sales holds for them."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests
from test_bc_routing import assert_bc_error

from sandbox.launcher import RunningSandbox

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
# The properties of the v2.0 vendor entity (page 30010 "APIV2 - Vendors"), in page order.
STANDARD_PROPERTIES = [
    "id",
    "number",
    "displayName",
    "addressLine1",
    "addressLine2",
    "city",
    "state",
    "country",
    "postalCode",
    "phoneNumber",
    "email",
    "website",
    "taxRegistrationNumber",
    "currencyId",
    "currencyCode",
    "irs1099Code",
    "paymentTermsId",
    "paymentMethodId",
    "taxLiable",
    "blocked",
    "balance",
    "lastModifiedDateTime",
]
CUSTOM_PROPERTIES = [
    "id",
    "lastModifiedDateTime",
    "no",
    "name",
    "purchaserCode",
    "contact",
    "faxNo",
    "primaryContactNo",
    "shippingAgentCode",
    "shipmentMethodCode",
    "paymentTermsCode",
    "homePage",
]
SHARED_VENDORS = ("Fabrikam, Inc.", "First Up Consultants", "Wide World Importers")


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session: Any) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


@pytest.fixture
def custom(sandbox: RunningSandbox) -> str:
    route = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api/bcsync/sync/v1.0"
    return f"{route}/companies({sandbox.company_id})"


def create_vendor(sandbox: RunningSandbox, session: requests.Session, **values: object) -> dict:
    response = session.post(
        f"{sandbox.bc_company_url}/vendors", json={"displayName": f"Vendor {uuid.uuid4().hex[:8]}", **values}
    )
    assert response.status_code == 201, response.text
    return response.json()


def seeded(session: requests.Session, url: str, name: str) -> dict:
    found = session.get(url, params={"$filter": f"displayName eq '{name.replace(chr(39), chr(39) * 2)}'"})
    assert found.status_code == 200, found.text
    (vendor,) = found.json()["value"]
    return vendor


# -- reads -------------------------------------------------------------------------------------------


def test_vendors_list_in_number_order_with_the_v2_properties(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    response = session.get(f"{sandbox.bc_company_url}/vendors")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith(f"/$metadata#companies({sandbox.company_id})/vendors")
    vendors = body["value"]
    seeded_numbers = [v["number"] for v in vendors if v["number"] <= "V00050"]
    assert seeded_numbers == ["V00010", "V00020", "V00030", "V00040", "V00050"]
    assert list(vendors[0]) == ["@odata.etag", *STANDARD_PROPERTIES]
    fabrikam = vendors[0]
    assert fabrikam["displayName"] == "Fabrikam, Inc." and fabrikam["blocked"] == " "
    assert isinstance(fabrikam["balance"], int | float) and isinstance(fabrikam["taxLiable"], bool)


def test_filter_select_and_the_blocked_enum(sandbox: RunningSandbox, session: requests.Session) -> None:
    url = f"{sandbox.bc_company_url}/vendors"

    open_ = session.get(url, params={"$filter": "blocked eq ' '", "$select": "number,displayName"})
    blocked = session.get(url, params={"$filter": "blocked eq 'Payment'", "$select": "displayName,blocked"})

    names = {v["displayName"] for v in open_.json()["value"]}
    assert set(SHARED_VENDORS) <= names and "Nod Publishers" not in names
    assert set(open_.json()["value"][0]) == {"@odata.etag", "number", "displayName"}
    assert {"displayName": "Nod Publishers", "blocked": "Payment"} in [
        {k: v for k, v in row.items() if k != "@odata.etag"} for row in blocked.json()["value"]
    ]


def test_server_paging_walks_every_vendor_once(sandbox: RunningSandbox, session: requests.Session) -> None:
    url = f"{sandbox.bc_company_url}/vendors"
    everything = [v["id"] for v in session.get(url, params={"$select": "id"}).json()["value"]]

    seen: list[str] = []
    next_url: str | None = f"{url}?$select=id"
    while next_url:
        page = session.get(next_url, headers={"Prefer": "odata.maxpagesize=2"})
        assert page.status_code == 200, page.text
        assert page.headers["Preference-Applied"] == "odata.maxpagesize=2"
        body = page.json()
        assert len(body["value"]) <= 2
        seen += [v["id"] for v in body["value"]]
        next_url = body.get("@odata.nextLink")

    assert seen == everything and len(seen) >= 5


def test_expand_currency_and_payment_term(sandbox: RunningSandbox, session: requests.Session) -> None:
    vendor = seeded(session, f"{sandbox.bc_company_url}/vendors", "Fabrikam, Inc.")

    response = session.get(
        f"{sandbox.bc_company_url}/vendors({vendor['id']})", params={"$expand": "currency,paymentTerm"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["paymentTerm"]["id"] == vendor["paymentTermsId"] and body["paymentTerm"]["code"]
    assert body["currency"] is None  # Fabrikam pays in the local currency (blank code)


# -- writes ------------------------------------------------------------------------------------------


def test_post_numbers_a_new_vendor_from_the_vend_series(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    first = create_vendor(sandbox, session, city="Atlanta", currencyCode="eur")
    second = create_vendor(sandbox, session)

    assert first["number"].startswith("V") and int(first["number"][1:]) > 50
    assert int(second["number"][1:]) > int(first["number"][1:])
    assert first["blocked"] == " " and first["balance"] == 0 and first["city"] == "Atlanta"
    assert first["currencyCode"] == "EUR" and first["currencyId"] != "00000000-0000-0000-0000-000000000000"
    assert first["@odata.context"].endswith("/vendors/$entity")
    fetched = session.get(f"{sandbox.bc_company_url}/vendors({first['id']})")
    assert fetched.headers["ETag"] == first["@odata.etag"]


def test_patch_with_the_current_etag_then_a_stale_one(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    vendor = create_vendor(sandbox, session)
    url = f"{sandbox.bc_company_url}/vendors({vendor['id']})"

    updated = session.patch(
        url, json={"phoneNumber": "+1 404 555 0199"}, headers={"If-Match": vendor["@odata.etag"]}
    )
    stale = session.patch(url, json={"city": "Oslo"}, headers={"If-Match": vendor["@odata.etag"]})
    missing = session.patch(url, json={"city": "Oslo"})

    assert updated.status_code == 200, updated.text
    assert updated.json()["phoneNumber"] == "+1 404 555 0199"
    assert updated.headers["ETag"] == updated.json()["@odata.etag"] != vendor["@odata.etag"]
    assert updated.json()["lastModifiedDateTime"] > vendor["lastModifiedDateTime"]
    assert_bc_error(stale, 409, "Request_EntityChanged")
    assert_bc_error(missing, 412, "BadRequest_InvalidToken")
    assert session.get(url).json()["city"] == ""


def test_delete_needs_the_current_etag(sandbox: RunningSandbox, session: requests.Session) -> None:
    vendor = create_vendor(sandbox, session)
    url = f"{sandbox.bc_company_url}/vendors({vendor['id']})"
    changed = session.patch(url, json={"city": "Oslo"}, headers={"If-Match": vendor["@odata.etag"]}).json()

    stale = session.delete(url, headers={"If-Match": vendor["@odata.etag"]})
    deleted = session.delete(url, headers={"If-Match": changed["@odata.etag"]})

    assert_bc_error(stale, 409, "Request_EntityChanged")
    assert deleted.status_code == 204
    assert_bc_error(session.get(url), 404, "Internal_RecordNotFound")


def test_read_only_balance_and_unknown_codes_are_refused(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    vendor = create_vendor(sandbox, session)
    url = f"{sandbox.bc_company_url}/vendors({vendor['id']})"

    balance = session.patch(url, json={"balance": 100}, headers={"If-Match": vendor["@odata.etag"]})
    currency = session.post(
        f"{sandbox.bc_company_url}/vendors", json={"displayName": "X", "currencyCode": "XXX"}
    )
    blocked = session.patch(url, json={"blocked": "Ship"}, headers={"If-Match": vendor["@odata.etag"]})

    assert_bc_error(balance, 400, "BadRequest")
    assert_bc_error(currency, 400, "Application_FieldValidationException")
    assert blocked.status_code == 400  # Ship is a customer blocking, not a vendor one


def test_batch_creates_vendors(sandbox: RunningSandbox, session: requests.Session) -> None:
    name = f"Batch vendor {uuid.uuid4().hex[:8]}"
    operations = [
        {
            "id": str(position),
            "method": "POST",
            "url": f"companies({sandbox.company_id})/vendors",
            "headers": {"Content-Type": "application/json"},
            "body": {"displayName": f"{name} {position}"},
        }
        for position in range(2)
    ]
    url = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api/v2.0/$batch"

    response = session.post(url, json={"requests": operations}, headers={"Accept": "application/json"})

    answers = response.json()["responses"]
    assert [a["status"] for a in answers] == [201, 201]
    assert answers[0]["body"]["number"] != answers[1]["body"]["number"]


# -- the custom page ---------------------------------------------------------------------------------


def test_custom_page_shows_the_purchaser_code_of_the_same_record(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    standard = seeded(session, f"{sandbox.bc_company_url}/vendors", "Fabrikam, Inc.")

    response = session.get(f"{custom}/vendors({standard['id']})")

    assert response.status_code == 200, response.text
    extension = response.json()
    assert list(extension) == ["@odata.context", "@odata.etag", *CUSTOM_PROPERTIES]
    assert extension["purchaserCode"] == "AH" and extension["contact"]
    assert extension["no"] == standard["number"] == "V00010" and extension["name"] == "Fabrikam, Inc."
    assert extension["homePage"] == standard["website"]
    assert extension["@odata.etag"] == standard["@odata.etag"]
    assert extension["paymentTermsCode"] and extension["shipmentMethodCode"]
    filtered = session.get(f"{custom}/vendors", params={"$filter": "purchaserCode eq 'AH'", "$select": "no"})
    assert "V00010" in [v["no"] for v in filtered.json()["value"]]


def test_write_through_the_custom_page_changes_the_standard_record(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    standard = create_vendor(sandbox, session)

    response = session.patch(
        f"{custom}/vendors({standard['id']})",
        json={
            "purchaserCode": "jo",
            "faxNo": "+1 404 555 0100",
            "shippingAgentCode": "ups",
            "homePage": "www.v.example",
        },
        headers={"If-Match": standard["@odata.etag"]},
    )
    unknown = session.patch(
        f"{custom}/vendors({standard['id']})",
        json={"purchaserCode": "NOBODY"},
        headers={"If-Match": response.json()["@odata.etag"]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["purchaserCode"] == "JO" and response.json()["shippingAgentCode"] == "UPS"
    after = session.get(f"{sandbox.bc_company_url}/vendors({standard['id']})").json()
    assert after["website"] == "www.v.example"
    assert after["@odata.etag"] == response.json()["@odata.etag"] != standard["@odata.etag"]
    assert_bc_error(unknown, 400, "Application_FieldValidationException")


def test_custom_post_numbers_from_the_same_series(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    response = session.post(f"{custom}/vendors", json={"name": "Custom Vendor Co", "purchaserCode": "PS"})

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["no"].startswith("V") and created["purchaserCode"] == "PS"
    standard = session.get(f"{sandbox.bc_company_url}/vendors({created['id']})").json()
    assert standard["displayName"] == "Custom Vendor Co" and standard["number"] == created["no"]


# -- $metadata -----------------------------------------------------------------------------------------


def _schema(session: requests.Session, url: str) -> ET.Element:
    response = session.get(url)
    assert response.status_code == 200, response.text
    schema = ET.fromstring(response.content).find(f".//{EDM}Schema")
    assert schema is not None
    return schema


def test_metadata_lists_vendors_on_both_routes(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    standard = _schema(session, f"{sandbox.bc_api}/$metadata")
    extension = _schema(session, f"{custom.rsplit('/companies', 1)[0]}/$metadata")

    sets = {s.get("Name"): s.get("EntityType") for s in standard.iter(f"{EDM}EntitySet")}
    assert sets["vendors"] == "Microsoft.NAV.vendor"
    vendor = standard.find(f"{EDM}EntityType[@Name='vendor']")
    assert vendor is not None
    properties = {p.get("Name"): p for p in vendor.findall(f"{EDM}Property")}
    assert list(properties) == STANDARD_PROPERTIES
    assert properties["blocked"].get("Type") == "Microsoft.NAV.vendorBlocked"
    assert properties["displayName"].get("MaxLength") == "100"
    assert properties["balance"].find(f"{EDM}Annotation[@Term='Org.OData.Core.V1.Computed']") is not None
    blocked = standard.find(f"{EDM}EnumType[@Name='vendorBlocked']")
    assert blocked is not None and [m.get("Name") for m in blocked] == ["_x0020_", "Payment", "All"]
    navigations = {n.get("Name"): n.get("Type") for n in vendor.findall(f"{EDM}NavigationProperty")}
    assert navigations == {"currency": "Microsoft.NAV.currency", "paymentTerm": "Microsoft.NAV.paymentTerm"}

    custom_sets = {s.get("Name") for s in extension.iter(f"{EDM}EntitySet")}
    custom_vendor = extension.find(f"{EDM}EntityType[@Name='vendor']")
    assert "vendors" in custom_sets and custom_vendor is not None
    assert [p.get("Name") for p in custom_vendor.findall(f"{EDM}Property")] == CUSTOM_PROPERTIES


# -- the seed in Dataverse ---------------------------------------------------------------------------


def test_sales_holds_vendor_accounts_some_matching_bc_vendors_by_name_and_city(
    sandbox: RunningSandbox, session: requests.Session, dataverse_token: str, new_session: Any
) -> None:
    dataverse = new_session(sandbox.ca_file, dataverse_token)
    response = dataverse.get(
        f"{sandbox.dataverse_api}/accounts",
        params={"$filter": "customertypecode eq 11", "$select": "name,address1_city,customertypecode"},
    )
    assert response.status_code == 200, response.text
    accounts = [(a["name"], a["address1_city"]) for a in response.json()["value"]]
    assert {a["customertypecode"] for a in response.json()["value"]} == {11}
    vendors = session.get(
        f"{sandbox.bc_company_url}/vendors",
        params={"$select": "displayName,city", "$filter": "number le 'V00050'"},
    ).json()["value"]
    in_bc = {(v["displayName"], v["city"]) for v in vendors}

    coupled = {name for name, city in set(accounts) & in_bc}
    assert coupled == set(SHARED_VENDORS)  # one account each, same name and city
    assert all(accounts.count(pair) == 1 for pair in set(accounts) & in_bc)
    bc_names = {name for name, _ in in_bc}
    assert {"Graphic Design Institute", "Nod Publishers"} <= bc_names - coupled  # only in BC
    sales_only = {name for name, city in accounts if (name, city) not in in_bc}
    assert {"Proseware, Inc.", "Lucerne Publishing"} <= sales_only
    # Same name as a BC vendor, but another company in another city: not a name + city match.
    assert "Graphic Design Institute" in sales_only
    customers = dataverse.get(
        f"{sandbox.dataverse_api}/accounts",
        params={"$filter": "customertypecode eq 3 and name eq 'Fabrikam, Inc.'", "$select": "name"},
    )
    assert customers.json()["value"] == []
