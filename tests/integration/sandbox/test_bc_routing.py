"""Business Central routing: tenant/environment/route prefixes, companies, `?company=`, and BC errors
for everything the service does not know."""

from __future__ import annotations

import re

import pytest
import requests

from sandbox.launcher import RunningSandbox

CORRELATION = re.compile(r"  CorrelationId: [0-9a-f-]{36}\.\Z")


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


def assert_bc_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert CORRELATION.search(error["message"]), error["message"]
    return error["message"]


def test_companies_lists_the_configured_company(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.get(f"{sandbox.bc_api}/companies")

    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    body = response.json()
    assert body["@odata.context"].endswith("/api/v2.0/$metadata#companies")
    company = next(c for c in body["value"] if c["id"] == sandbox.company_id)
    assert {"id", "systemVersion", "name", "displayName", "businessProfileId"} <= company.keys()


def test_company_in_path_and_company_query_option_name_the_same_records(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    in_path = session.get(f"{sandbox.bc_company_url}/customers", params={"$select": "id"})
    in_query = session.get(
        f"{sandbox.bc_api}/customers", params={"company": sandbox.company_id, "$select": "id"}
    )

    assert in_path.status_code == in_query.status_code == 200
    assert [c["id"] for c in in_path.json()["value"]] == [c["id"] for c in in_query.json()["value"]]
    assert in_path.json()["value"]


def test_url_without_tenant_segment_is_served(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.get(f"{sandbox.bc_url}/v2.0/{sandbox.bc_environment}/api/v2.0/companies")

    assert response.status_code == 200
    assert any(c["id"] == sandbox.company_id for c in response.json()["value"])


def test_single_company_and_unknown_company(sandbox: RunningSandbox, session: requests.Session) -> None:
    assert session.get(sandbox.bc_company_url).json()["id"] == sandbox.company_id

    unknown = session.get(f"{sandbox.bc_api}/companies(00000000-0000-0000-0000-00000000abcd)/customers")
    assert_bc_error(unknown, 404, "Internal_CompanyNotFound")


def test_entity_set_without_company_is_refused(sandbox: RunningSandbox, session: requests.Session) -> None:
    message = assert_bc_error(session.get(f"{sandbox.bc_api}/customers"), 400, "Internal_CompanyNotFound")
    assert "company=" in message


@pytest.mark.parametrize(
    "path",
    [
        "/customerPriceGroups",  # custom-API only: the standard route has no price groups
        "/salesPrices",
        "/resources",
        "/vendorsOfTheMoon",
    ],
)
def test_unknown_entity_set_is_resource_not_found(
    sandbox: RunningSandbox, session: requests.Session, path: str
) -> None:
    message = assert_bc_error(
        session.get(f"{sandbox.bc_company_url}{path}"), 404, "BadRequest_ResourceNotFound"
    )
    assert path.strip("/") in message


@pytest.mark.parametrize(
    "suffix",
    ["/api/contoso/app/v1.0/companies", "/odata/Company", "/api/v2.0/companies/extra"],
)
def test_unknown_route_answers_bc_error_not_silent_200(
    sandbox: RunningSandbox, session: requests.Session, suffix: str
) -> None:
    url = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}{suffix}"
    assert_bc_error(session.get(url), 404, "BadRequest_ResourceNotFound")


def test_unknown_environment_is_refused(sandbox: RunningSandbox, session: requests.Session) -> None:
    url = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/no-such-env/api/v2.0/companies"
    assert_bc_error(session.get(url), 404, "BadRequest_ResourceNotFound")


def test_put_is_method_not_allowed(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.put(f"{sandbox.bc_company_url}/customers", json={})
    assert_bc_error(response, 405, "BadRequest_MethodNotAllowed")


def test_companies_are_read_only(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.post(f"{sandbox.bc_api}/companies", json={"name": "Other"})
    assert_bc_error(response, 405, "BadRequest_MethodNotAllowed")


def test_malformed_key_is_a_bad_request(sandbox: RunningSandbox, session: requests.Session) -> None:
    assert_bc_error(session.get(f"{sandbox.bc_company_url}/customers(10000)"), 400, "BadRequest")


def test_missing_record_is_internal_record_not_found(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    response = session.get(f"{sandbox.bc_company_url}/customers(00000000-0000-0000-0000-0000000f00d0)")
    message = assert_bc_error(response, 404, "Internal_RecordNotFound")
    assert message.startswith("The Customer does not exist.")


def test_service_document_lists_the_entity_sets(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.get(f"{sandbox.bc_api}/")

    assert response.status_code == 200
    names = {entry["name"] for entry in response.json()["value"]}
    assert {"companies", "customers", "contacts", "items", "currencies", "unitsOfMeasure"} <= names
    assert {"salespeoplePurchasers", "salesInvoices", "salesInvoiceLines"} <= names
    assert "customerPriceGroups" not in names
