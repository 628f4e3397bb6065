"""CustCont-Update: a customer written through the API gets (and keeps) its company contact and its
CUST business relation, in the same unit of work as the customer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from test_bc_batch import batch, post_customer

from sandbox.launcher import RunningSandbox


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


@pytest.fixture
def custom(sandbox: RunningSandbox) -> str:
    route = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api/bcsync/sync/v1.0"
    return f"{route}/companies({sandbox.company_id})"


def _relations(session: requests.Session, custom: str, customer_number: str) -> list[dict[str, Any]]:
    response = session.get(
        f"{custom}/contactBusinessRelations",
        params={"$filter": f"no eq '{customer_number}' and linkToTable eq 'Customer'"},
    )
    response.raise_for_status()
    return response.json()["value"]


def _contacts(sandbox: RunningSandbox, session: requests.Session, odata_filter: str) -> list[dict[str, Any]]:
    response = session.get(f"{sandbox.bc_company_url}/contacts", params={"$filter": odata_filter})
    response.raise_for_status()
    return response.json()["value"]


def _create_customer(sandbox: RunningSandbox, session: requests.Session, **values: Any) -> dict[str, Any]:
    response = session.post(f"{sandbox.bc_company_url}/customers", json=values)
    assert response.status_code == 201, response.text
    return response.json()


def test_created_customer_gets_a_company_contact_and_one_business_relation(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    name = f"CustCont {uuid.uuid4().hex[:8]}"
    customer = _create_customer(
        sandbox,
        session,
        displayName=name,
        addressLine1="Main Street 1",
        city="Lund",
        postalCode="22100",
        phoneNumber="+46 46 123 45",
        email="info@example.com",
    )

    relations = _relations(session, custom, customer["number"])
    assert len(relations) == 1
    relation = relations[0]
    assert relation["businessRelationCode"] == "CUST"
    contacts = _contacts(sandbox, session, f"number eq '{relation['contactNo']}'")
    assert len(contacts) == 1
    contact = contacts[0]
    assert contact["number"].startswith("CT")  # from the CONT number series
    assert contact["type"] == "Company"
    assert contact["companyNumber"] == contact["number"]
    assert contact["companyName"] == name
    assert contact["contactBusinessRelation"] == "Customer"
    for field in ("displayName", "addressLine1", "city", "postalCode", "phoneNumber", "email"):
        assert contact[field] == customer[field], field


def test_renaming_the_customer_renames_its_company_contact(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    customer = _create_customer(sandbox, session, displayName=f"Before {uuid.uuid4().hex[:8]}")
    renamed = f"After {uuid.uuid4().hex[:8]}"

    response = session.patch(
        f"{sandbox.bc_company_url}/customers({customer['id']})",
        json={"displayName": renamed, "city": "Malmö"},
        headers={"If-Match": customer["@odata.etag"]},
    )

    assert response.status_code == 200, response.text
    (relation,) = _relations(session, custom, customer["number"])
    (contact,) = _contacts(sandbox, session, f"number eq '{relation['contactNo']}'")
    assert contact["displayName"] == renamed and contact["companyName"] == renamed
    assert contact["city"] == "Malmö"


def test_batch_created_customers_each_get_their_own_company_contact(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    operations = [post_customer(sandbox, str(i), f"Batch cont {i} {tag}") for i in range(3)]

    answers = batch(sandbox, session, operations, Isolation="snapshot").json()["responses"]

    assert [a["status"] for a in answers] == [201, 201, 201]
    contact_numbers = set()
    for answer in answers:
        (relation,) = _relations(session, custom, answer["body"]["number"])
        (contact,) = _contacts(sandbox, session, f"number eq '{relation['contactNo']}'")
        assert contact["displayName"] == answer["body"]["displayName"]
        contact_numbers.add(contact["number"])
    assert len(contact_numbers) == 3


def test_failed_snapshot_batch_rolls_back_the_company_contact(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    name = f"Snap cont {uuid.uuid4().hex[:8]}"
    operations = [
        post_customer(sandbox, "1", name),
        post_customer(sandbox, "2", f"{name} bad", currencyCode="ZZZ"),  # no such currency: 400
    ]

    answers = batch(sandbox, session, operations, Isolation="snapshot").json()["responses"]

    assert [(a["id"], a["status"]) for a in answers] == [("2", 400)]
    assert _contacts(sandbox, session, f"displayName eq '{name}'") == []
    # The same first operation on its own does create the contact, so its absence above is the rollback.
    (created,) = batch(sandbox, session, operations[:1], Isolation="snapshot").json()["responses"]
    assert created["status"] == 201
    (contact,) = _contacts(sandbox, session, f"displayName eq '{name}'")
    assert [r["contactNo"] for r in _relations(session, custom, created["body"]["number"])] == [
        contact["number"]
    ]


def test_failed_snapshot_batch_rolls_back_a_contact_rename(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    name = f"Keep {uuid.uuid4().hex[:8]}"
    customer = _create_customer(sandbox, session, displayName=name)
    url = f"companies({sandbox.company_id})/customers({customer['id']})"
    operations = [
        {
            "id": "rename",
            "method": "PATCH",
            "url": url,
            "headers": {"If-Match": customer["@odata.etag"]},
            "body": {"displayName": f"{name} renamed"},
        },
        post_customer(sandbox, "bad", f"{name} bad", currencyCode="ZZZ"),
    ]

    answers = batch(sandbox, session, operations, Isolation="snapshot").json()["responses"]

    assert [(a["id"], a["status"]) for a in answers] == [("bad", 400)]
    (relation,) = _relations(session, custom, customer["number"])
    (contact,) = _contacts(sandbox, session, f"number eq '{relation['contactNo']}'")
    assert contact["displayName"] == name


def test_deleting_the_customer_deletes_its_business_relation_and_keeps_the_contact(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    customer = _create_customer(sandbox, session, displayName=f"Gone {uuid.uuid4().hex[:8]}")
    (relation,) = _relations(session, custom, customer["number"])

    response = session.delete(
        f"{sandbox.bc_company_url}/customers({customer['id']})", headers={"If-Match": "*"}
    )

    assert response.status_code == 204
    assert _relations(session, custom, customer["number"]) == []
    (contact,) = _contacts(sandbox, session, f"number eq '{relation['contactNo']}'")
    assert contact["contactBusinessRelation"] == "None"


def test_renumbering_the_customer_moves_its_business_relation(
    sandbox: RunningSandbox, session: requests.Session, custom: str
) -> None:
    customer = _create_customer(sandbox, session, displayName=f"Renumber {uuid.uuid4().hex[:8]}")
    (relation,) = _relations(session, custom, customer["number"])
    number = f"RN{uuid.uuid4().hex[:8].upper()}"

    response = session.patch(
        f"{sandbox.bc_company_url}/customers({customer['id']})",
        json={"number": number},
        headers={"If-Match": customer["@odata.etag"]},
    )

    assert response.status_code == 200, response.text
    assert _relations(session, custom, customer["number"]) == []
    assert [r["contactNo"] for r in _relations(session, custom, number)] == [relation["contactNo"]]
