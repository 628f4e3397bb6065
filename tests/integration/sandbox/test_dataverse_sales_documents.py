"""The local Dataverse's invoices over HTTPS: price list required, write-in and existing products, totals
computed from the products, state and status together, read-only once not active."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.launcher import RunningSandbox

Api = tuple[requests.Session, str]


@pytest.fixture
def api(sandbox: RunningSandbox, dataverse_token: str, new_session: Any) -> Api:
    return new_session(sandbox.ca_file, dataverse_token), sandbox.dataverse_api + "/"


def _first(api: Api, entity_set: str, select: str) -> dict[str, Any]:
    session, root = api
    return session.get(root + f"{entity_set}?$select={select}&$top=1").json()["value"][0]


def _invoice(api: Api, **values: Any) -> str:
    session, root = api
    account = _first(api, "accounts", "accountid")["accountid"]
    price_list = _first(api, "pricelevels", "pricelevelid")["pricelevelid"]
    body = {
        "name": "INV-T1",
        "customerid_account@odata.bind": f"/accounts({account})",
        "pricelevelid@odata.bind": f"/pricelevels({price_list})",
        **values,
    }
    response = session.post(root + "invoices", json=body)
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def _add_line(api: Api, invoice: str, **values: Any) -> requests.Response:
    session, root = api
    body = {"invoiceid@odata.bind": f"/invoices({invoice})", "quantity": 1, **values}
    return session.post(root + "invoicedetails", json=body)


def _write_in(api: Api, invoice: str, base: float, discount: float, tax: float) -> requests.Response:
    return _add_line(
        api,
        invoice,
        isproductoverridden=True,
        productdescription="Freight.",
        baseamount=base,
        manualdiscountamount=discount,
        tax=tax,
    )


def test_an_invoice_needs_a_price_list(api: Api) -> None:
    session, root = api
    account = _first(api, "accounts", "accountid")["accountid"]
    response = session.post(
        root + "invoices", json={"name": "No list", "customerid_account@odata.bind": f"/accounts({account})"}
    )
    assert response.status_code == 400
    assert "pricelevelid" in response.json()["error"]["message"]


def test_products_are_write_ins_with_a_description_or_existing_products_with_a_unit(api: Api) -> None:
    invoice = _invoice(api)
    product = _first(api, "products", "productid,_defaultuomid_value")
    assert _add_line(api, invoice, isproductoverridden=True).status_code == 400  # no description
    no_unit = _add_line(api, invoice, **{"productid@odata.bind": f"/products({product['productid']})"})
    assert no_unit.status_code == 400 and "unit" in no_unit.json()["error"]["message"]
    existing = _add_line(
        api,
        invoice,
        **{
            "productid@odata.bind": f"/products({product['productid']})",
            "uomid@odata.bind": f"/uoms({product['_defaultuomid_value']})",
        },
    )
    assert existing.status_code == 204
    assert _write_in(api, invoice, 100, 10, 18).status_code == 204


def test_totals_follow_the_products_until_a_client_writes_its_own(api: Api) -> None:
    session, root = api
    invoice = _invoice(api, discountamount=5)
    assert _write_in(api, invoice, 100, 10, 18).status_code == 204
    assert _write_in(api, invoice, 50, 0, 10).status_code == 204
    fields = "totallineitemamount,totallineitemdiscountamount,totaltax,totalamountlessfreight,totalamount"
    totals = session.get(root + f"invoices({invoice})?$select={fields}").json()
    assert totals["totallineitemamount"] == 140  # 100 − 10 + 50
    assert totals["totallineitemdiscountamount"] == 10
    assert totals["totaltax"] == 28
    assert totals["totalamountlessfreight"] == 135  # less the invoice discount of 5
    assert totals["totalamount"] == 163
    assert session.patch(root + f"invoices({invoice})", json={"totalamount": 170}).status_code == 204
    assert session.get(root + f"invoices({invoice})?$select=totalamount").json()["totalamount"] == 170


def test_state_and_status_go_together_and_a_paid_invoice_is_read_only(api: Api) -> None:
    session, root = api
    invoice = _invoice(api)
    url = root + f"invoices({invoice})"
    wrong = session.patch(url, json={"statecode": 2, "statuscode": 4})  # Billed is an Active status
    assert wrong.status_code == 400 and "not a valid status code" in wrong.json()["error"]["message"]
    assert session.patch(url, json={"statecode": 2, "statuscode": 100001}).status_code == 204
    refused = session.patch(url, json={"duedate": "2030-01-31T00:00:00Z"})
    assert refused.status_code == 400 and "not active" in refused.json()["error"]["message"]
    assert _write_in(api, invoice, 10, 0, 0).status_code == 400
    # Only its state can change: set back to Active / Billed, it can be edited again.
    assert session.patch(url, json={"statecode": 0, "statuscode": 4}).status_code == 204
    assert session.patch(url, json={"duedate": "2030-01-31T00:00:00Z"}).status_code == 204
