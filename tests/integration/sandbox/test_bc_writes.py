"""Business Central writes: POST 201 with number series, PATCH/DELETE guarded by `If-Match`, ETags
and `lastModifiedDateTime` that change on every write, validation errors, and document rules."""

from __future__ import annotations

import uuid

import pytest
import requests
from test_bc_routing import assert_bc_error

from sandbox.launcher import RunningSandbox


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


def create_customer(sandbox: RunningSandbox, session: requests.Session, **values: object) -> dict:
    response = session.post(
        f"{sandbox.bc_company_url}/customers",
        json={"displayName": f"Writes {uuid.uuid4().hex[:8]}", **values},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_post_returns_201_with_the_entity_and_a_series_number(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    first = create_customer(sandbox, session)
    second = create_customer(sandbox, session)

    assert first["number"] and second["number"] != first["number"]
    assert first["number"][:1] == second["number"][:1] == "C"
    assert int(second["number"][1:]) > int(first["number"][1:])
    assert first["@odata.context"].endswith("/customers/$entity")
    fetched = session.get(f"{sandbox.bc_company_url}/customers({first['id']})")
    assert fetched.json()["displayName"] == first["displayName"]
    assert fetched.headers["ETag"] == first["@odata.etag"]


def test_post_keeps_a_given_number_and_upper_cases_codes(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    number = f"w{uuid.uuid4().hex[:6]}"
    created = create_customer(sandbox, session, number=number)
    assert created["number"] == number.upper()


def test_patch_requires_if_match(sandbox: RunningSandbox, session: requests.Session) -> None:
    customer = create_customer(sandbox, session)
    response = session.patch(f"{sandbox.bc_company_url}/customers({customer['id']})", json={"city": "Oslo"})
    assert_bc_error(response, 412, "BadRequest_InvalidToken")


def test_delete_requires_if_match(sandbox: RunningSandbox, session: requests.Session) -> None:
    customer = create_customer(sandbox, session)
    response = session.delete(f"{sandbox.bc_company_url}/customers({customer['id']})")
    assert_bc_error(response, 412, "BadRequest_InvalidToken")


def test_patch_with_current_etag_returns_200_and_a_new_etag(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    customer = create_customer(sandbox, session)
    url = f"{sandbox.bc_company_url}/customers({customer['id']})"

    response = session.patch(url, json={"city": "Oslo"}, headers={"If-Match": customer["@odata.etag"]})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["city"] == "Oslo" and updated["displayName"] == customer["displayName"]
    assert updated["@odata.etag"] != customer["@odata.etag"]
    assert updated["lastModifiedDateTime"] > customer["lastModifiedDateTime"]
    assert response.headers["ETag"] == updated["@odata.etag"]


def test_stale_etag_is_409_entity_changed(sandbox: RunningSandbox, session: requests.Session) -> None:
    customer = create_customer(sandbox, session)
    url = f"{sandbox.bc_company_url}/customers({customer['id']})"
    session.patch(url, json={"city": "Bergen"}, headers={"If-Match": customer["@odata.etag"]})

    stale_patch = session.patch(url, json={"city": "Oslo"}, headers={"If-Match": customer["@odata.etag"]})
    stale_delete = session.delete(url, headers={"If-Match": customer["@odata.etag"]})

    message = assert_bc_error(stale_patch, 409, "Request_EntityChanged")
    assert message.startswith("Another user has already changed the record.")
    assert_bc_error(stale_delete, 409, "Request_EntityChanged")
    assert session.get(url).json()["city"] == "Bergen"


def test_malformed_if_match_is_invalid_token(sandbox: RunningSandbox, session: requests.Session) -> None:
    customer = create_customer(sandbox, session)
    response = session.patch(
        f"{sandbox.bc_company_url}/customers({customer['id']})",
        json={"city": "X"},
        headers={"If-Match": "nonsense"},
    )
    assert_bc_error(response, 400, "BadRequest_InvalidToken")


def test_delete_with_star_returns_204_and_the_record_is_gone(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    customer = create_customer(sandbox, session)
    url = f"{sandbox.bc_company_url}/customers({customer['id']})"

    response = session.delete(url, headers={"If-Match": "*"})

    assert response.status_code == 204 and response.content == b""
    assert_bc_error(session.get(url), 404, "Internal_RecordNotFound")


def test_duplicate_number_is_entity_with_same_key_exists(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    customer = create_customer(sandbox, session)
    response = session.post(f"{sandbox.bc_company_url}/customers", json={"number": customer["number"]})
    assert customer["number"] in assert_bc_error(response, 400, "Internal_EntityWithSameKeyExists")


def test_too_long_text_is_string_exceeded_length(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.post(f"{sandbox.bc_company_url}/customers", json={"city": "x" * 31})
    message = assert_bc_error(response, 400, "Application_StringExceededLength")
    assert "must be less than or equal to 30 characters" in message


def test_unknown_property_is_refused(sandbox: RunningSandbox, session: requests.Session) -> None:
    response = session.post(f"{sandbox.bc_company_url}/customers", json={"faxNo": "123"})
    assert "'faxNo' does not exist" in assert_bc_error(response, 400, "BadRequest")


@pytest.mark.parametrize("body", [{"balanceDue": 5}, {"type": "Robot"}, {"creditLimit": "lots"}])
def test_read_only_and_mistyped_values_are_refused(
    sandbox: RunningSandbox, session: requests.Session, body: dict
) -> None:
    assert_bc_error(session.post(f"{sandbox.bc_company_url}/customers", json=body), 400, "BadRequest")


def test_system_fields_sent_back_are_ignored(sandbox: RunningSandbox, session: requests.Session) -> None:
    customer = create_customer(sandbox, session)
    echo = {k: v for k, v in customer.items() if k != "@odata.context"} | {"city": "Turku"}

    response = session.patch(
        f"{sandbox.bc_company_url}/customers({customer['id']})", json=echo, headers={"If-Match": "*"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["lastModifiedDateTime"] != customer["lastModifiedDateTime"]


def test_unknown_currency_code_fails_field_validation(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    response = session.post(f"{sandbox.bc_company_url}/customers", json={"currencyCode": "ZZZ"})
    assert "Currency" in assert_bc_error(response, 400, "Application_FieldValidationException")


def test_currency_code_sets_currency_id(sandbox: RunningSandbox, session: requests.Session) -> None:
    currency = session.get(f"{sandbox.bc_company_url}/currencies", params={"$top": "1"}).json()["value"][0]
    customer = create_customer(sandbox, session, currencyCode=currency["code"].lower())
    assert (customer["currencyCode"], customer["currencyId"]) == (currency["code"], currency["id"])


def test_draft_invoice_deep_insert_numbers_lines_and_totals(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    customer = create_customer(sandbox, session, city="Tromsø")
    item = session.get(f"{sandbox.bc_company_url}/items", params={"$top": "1"}).json()["value"][0]
    body = {
        "customerNumber": customer["number"],
        "salesInvoiceLines": [
            {"lineType": "Item", "lineObjectNumber": item["number"], "quantity": 2, "unitPrice": 10.25},
            {
                "lineType": "Item",
                "lineObjectNumber": item["number"],
                "quantity": 1,
                "unitPrice": 5,
                "taxPercent": 10,
            },
        ],
    }

    response = session.post(f"{sandbox.bc_company_url}/salesInvoices?$expand=salesInvoiceLines", json=body)

    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["status"] == "Draft" and invoice["number"]
    assert (invoice["customerId"], invoice["customerName"]) == (customer["id"], customer["displayName"])
    assert invoice["sellToCity"] == "Tromsø"
    lines = invoice["salesInvoiceLines"]
    assert [line["sequence"] for line in lines] == [10000, 20000]
    assert [line["itemId"] for line in lines] == [item["id"], item["id"]]
    assert invoice["totalAmountExcludingTax"] == 25.5
    assert invoice["totalTaxAmount"] == 0.5
    assert invoice["totalAmountIncludingTax"] == 26


def test_posted_invoice_cannot_change(sandbox: RunningSandbox, session: requests.Session) -> None:
    posted = session.get(
        f"{sandbox.bc_company_url}/salesInvoices", params={"$filter": "status eq 'Paid'", "$top": "1"}
    ).json()["value"][0]
    url = f"{sandbox.bc_company_url}/salesInvoices({posted['id']})"

    patch = session.patch(url, json={"externalDocumentNumber": "X"}, headers={"If-Match": "*"})
    delete = session.delete(url, headers={"If-Match": "*"})

    assert_bc_error(patch, 400, "Application_DialogException")
    assert_bc_error(delete, 400, "Application_DialogException")


def test_line_on_unknown_invoice_is_record_not_found(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    url = f"{sandbox.bc_company_url}/salesInvoices({uuid.uuid4()})/salesInvoiceLines"
    assert_bc_error(session.post(url, json={"lineType": "Comment"}), 404, "Internal_RecordNotFound")


def test_deleted_invoice_takes_its_lines(sandbox: RunningSandbox, session: requests.Session) -> None:
    customer = create_customer(sandbox, session)
    invoice = session.post(
        f"{sandbox.bc_company_url}/salesInvoices",
        json={
            "customerNumber": customer["number"],
            "salesInvoiceLines": [{"lineType": "Comment", "description": "hi"}],
        },
    ).json()

    response = session.delete(
        f"{sandbox.bc_company_url}/salesInvoices({invoice['id']})", headers={"If-Match": "*"}
    )

    assert response.status_code == 204
    lines = session.get(
        f"{sandbox.bc_company_url}/salesInvoiceLines", params={"$filter": f"documentId eq {invoice['id']}"}
    )
    assert lines.json()["value"] == []
