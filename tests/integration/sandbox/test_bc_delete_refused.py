"""Business Central refuses to delete a customer with history, as the Customer table's OnDelete
trigger does: ledger entries (posted invoices, a balance) or outstanding sales lines (a draft
invoice with lines) → 400 `Application_DialogException`, on both routes and inside `$batch`, and
nothing is deleted. A customer without any can still be deleted."""

from __future__ import annotations

import uuid

import pytest
import requests
from test_bc_routing import assert_bc_error

from sandbox.launcher import RunningSandbox

LEDGER = "because it has ledger entries in a fiscal year that has not been closed yet"


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


def custom_company_url(sandbox: RunningSandbox) -> str:
    route = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api/bcsync/sync/v1.0"
    return f"{route}/companies({sandbox.company_id})"


def customer_with_posted_invoices(sandbox: RunningSandbox, session: requests.Session) -> dict:
    invoice = session.get(
        f"{sandbox.bc_company_url}/salesInvoices", params={"$filter": "status eq 'Paid'", "$top": "1"}
    ).json()["value"][0]
    return session.get(f"{sandbox.bc_company_url}/customers({invoice['customerId']})").json()


def new_customer(sandbox: RunningSandbox, session: requests.Session) -> dict:
    response = session.post(
        f"{sandbox.bc_company_url}/customers", json={"displayName": f"Delete {uuid.uuid4().hex[:8]}"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def exists(sandbox: RunningSandbox, session: requests.Session, customer_id: str) -> bool:
    return session.get(f"{sandbox.bc_company_url}/customers({customer_id})").status_code == 200


@pytest.mark.parametrize("route", ["standard", "custom"])
def test_customer_with_posted_invoices_is_not_deleted(
    sandbox: RunningSandbox, session: requests.Session, route: str
) -> None:
    customer = customer_with_posted_invoices(sandbox, session)
    base = sandbox.bc_company_url if route == "standard" else custom_company_url(sandbox)

    response = session.delete(f"{base}/customers({customer['id']})", headers={"If-Match": "*"})

    message = assert_bc_error(response, 400, "Application_DialogException")
    assert message.startswith(f"You cannot delete Customer {customer['number']} {LEDGER}.")
    after = session.get(f"{sandbox.bc_company_url}/customers({customer['id']})")
    assert after.status_code == 200
    assert after.json()["@odata.etag"] == customer["@odata.etag"]  # untouched


def test_customer_with_a_draft_invoice_line_is_not_deleted_until_the_draft_is_gone(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    customer = new_customer(sandbox, session)
    invoice = session.post(
        f"{sandbox.bc_company_url}/salesInvoices",
        json={
            "customerNumber": customer["number"],
            "salesInvoiceLines": [{"lineType": "Comment", "description": "pending"}],
        },
    )
    assert invoice.status_code == 201, invoice.text
    url = f"{sandbox.bc_company_url}/customers({customer['id']})"

    refused = session.delete(url, headers={"If-Match": "*"})

    message = assert_bc_error(refused, 400, "Application_DialogException")
    assert message.startswith(
        f"You cannot delete Customer {customer['number']} because there is at least one outstanding "
        "Sales Invoice for this customer."
    )
    assert exists(sandbox, session, customer["id"])
    lines = session.get(
        f"{sandbox.bc_company_url}/salesInvoiceLines",
        params={"$filter": f"documentId eq {invoice.json()['id']}"},
    ).json()["value"]
    assert len(lines) == 1

    gone = session.delete(
        f"{sandbox.bc_company_url}/salesInvoices({invoice.json()['id']})", headers={"If-Match": "*"}
    )
    assert gone.status_code == 204, gone.text
    assert session.delete(url, headers={"If-Match": "*"}).status_code == 204
    assert not exists(sandbox, session, customer["id"])


def test_customer_without_documents_or_entries_is_deleted(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    customer = new_customer(sandbox, session)
    url = f"{custom_company_url(sandbox)}/customers({customer['id']})"
    assert session.delete(url, headers={"If-Match": customer["@odata.etag"]}).status_code == 204
    assert not exists(sandbox, session, customer["id"])


def test_seeded_customers_with_a_balance_are_refused(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    statistics = session.get(
        f"{custom_company_url(sandbox)}/customerStatistics", params={"$top": "200"}
    ).json()["value"]
    invoiced = {
        invoice["customerId"]
        for invoice in session.get(
            f"{sandbox.bc_company_url}/salesInvoices", params={"$select": "customerId,status"}
        ).json()["value"]
    }
    with_balance = next(s for s in statistics if s["balanceLCY"] != 0 and s["id"] in invoiced)
    response = session.delete(
        f"{sandbox.bc_company_url}/customers({with_balance['id']})", headers={"If-Match": "*"}
    )
    assert_bc_error(response, 400, "Application_DialogException")
    assert exists(sandbox, session, with_balance["id"])


def test_batch_refuses_only_the_delete_of_the_customer_with_history(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    refused = customer_with_posted_invoices(sandbox, session)
    deletable = new_customer(sandbox, session)
    company = f"companies({sandbox.company_id})"
    operations = [
        {
            "id": "refused",
            "method": "DELETE",
            "url": f"{company}/customers({refused['id']})",
            "headers": {"If-Match": "*"},
        },
        {
            "id": "deleted",
            "method": "DELETE",
            "url": f"{company}/customers({deletable['id']})",
            "headers": {"If-Match": "*"},
        },
    ]
    url = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api/v2.0/$batch"

    response = session.post(
        url,
        json={"requests": operations},
        headers={"Accept": "application/json", "Prefer": "odata.continue-on-error"},
    )

    assert response.status_code == 200, response.text
    answers = {a["id"]: a for a in response.json()["responses"]}
    assert answers["refused"]["status"] == 400
    assert answers["refused"]["body"]["error"]["code"] == "Application_DialogException"
    assert LEDGER in answers["refused"]["body"]["error"]["message"]
    assert answers["deleted"]["status"] == 204
    assert exists(sandbox, session, refused["id"])
    assert not exists(sandbox, session, deletable["id"])
