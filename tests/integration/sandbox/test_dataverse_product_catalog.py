"""Dataverse's product catalog rules over HTTPS: a unit group comes with its base unit; a price list item
has one price per product and unit on a list, the list's currency, a unit of the product's unit group;
with the platform's error codes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.launcher import RunningSandbox

Api = tuple[requests.Session, str]


@pytest.fixture
def api(sandbox: RunningSandbox, dataverse_token: str, new_session: Any) -> Api:
    return new_session(sandbox.ca_file, dataverse_token), sandbox.dataverse_api + "/"


def _one(api: Api, path: str) -> dict[str, Any]:
    session, root = api
    return session.get(root + path).json()["value"][0]


def _trade_show_list(api: Api) -> dict[str, Any]:
    """A new price list in the base currency, as a Sales user makes one (each test its own)."""
    session, root = api
    usd = _one(api, "transactioncurrencies?$select=transactioncurrencyid&$filter=isocurrencycode eq 'USD'")
    created = session.post(
        root + "pricelevels?$select=pricelevelid,_transactioncurrencyid_value",
        json={
            "name": "Trade Show 2026",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({usd['transactioncurrencyid']})",
        },
        headers={"Prefer": "return=representation"},
    )
    assert created.status_code == 201, created.text
    return created.json()


def _product(api: Api) -> dict[str, Any]:
    return _one(
        api,
        "products?$select=productid,_defaultuomid_value,_defaultuomscheduleid_value"
        "&$filter=productnumber eq '1896-S'",
    )


def _item(price_list: dict[str, Any], product: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "pricelevelid@odata.bind": f"/pricelevels({price_list['pricelevelid']})",
        "productid@odata.bind": f"/products({product['productid']})",
        "uomid@odata.bind": f"/uoms({product['_defaultuomid_value']})",
        "amount": 99.5,
        **extra,
    }


def test_an_item_takes_its_price_lists_currency_and_its_units_group(api: Api) -> None:
    session, root = api
    price_list, product = _trade_show_list(api), _product(api)
    created = session.post(
        root + "productpricelevels?$select=_transactioncurrencyid_value,_uomscheduleid_value,productnumber",
        json=_item(price_list, product),
        headers={"Prefer": "return=representation"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["_transactioncurrencyid_value"] == price_list["_transactioncurrencyid_value"]
    assert body["_uomscheduleid_value"] == product["_defaultuomscheduleid_value"]
    assert body["productnumber"] == "1896-S"


def test_a_second_price_for_the_same_product_and_unit_on_a_list_is_refused(api: Api) -> None:
    session, root = api
    price_list, product = _trade_show_list(api), _product(api)
    assert session.post(root + "productpricelevels", json=_item(price_list, product)).status_code == 204
    again = session.post(root + "productpricelevels", json=_item(price_list, product, amount=1))
    assert again.status_code == 400
    assert again.json()["error"] == {
        "code": "0x80043b08",
        "message": "This product and unit combination has a price for this price list.",
    }


def test_a_bulk_create_with_the_same_product_and_unit_twice_is_refused_whole(api: Api) -> None:
    session, root = api
    price_list, product = _trade_show_list(api), _product(api)
    targets = [
        {"@odata.type": "Microsoft.Dynamics.CRM.productpricelevel", **_item(price_list, product, amount=a)}
        for a in (1, 2)
    ]
    answer = session.post(
        root + "productpricelevels/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "0x80043b08"
    on_the_list = f"_pricelevelid_value eq {price_list['pricelevelid']}"
    listed = session.get(root + f"productpricelevels?$select=productpricelevelid&$filter={on_the_list}")
    assert listed.json()["value"] == []


def test_an_item_in_another_currency_than_its_price_list_is_refused(api: Api) -> None:
    session, root = api
    price_list, product = _trade_show_list(api), _product(api)
    euro = _one(api, "transactioncurrencies?$select=transactioncurrencyid&$filter=isocurrencycode eq 'EUR'")
    in_euro = {"transactioncurrencyid@odata.bind": f"/transactioncurrencies({euro['transactioncurrencyid']})"}
    answer = session.post(root + "productpricelevels", json=_item(price_list, product, **in_euro))
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "0x80048cf6",
        "message": "The currency of the record does not match the currency of the price list.",
    }


def test_an_item_in_a_unit_outside_the_products_unit_group_is_refused(api: Api) -> None:
    session, root = api
    price_list, product = _trade_show_list(api), _product(api)
    other_unit = _one(
        api,
        f"uoms?$select=uomid&$filter=_uomscheduleid_value ne {product['_defaultuomscheduleid_value']}",
    )
    answer = session.post(
        root + "productpricelevels",
        json=_item(price_list, product, **{"uomid@odata.bind": f"/uoms({other_unit['uomid']})"}),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "0x80043b14",
        "message": "The specified unit is not valid for this product.",
    }


def test_a_new_unit_group_comes_with_its_base_unit(api: Api) -> None:
    session, root = api
    created = session.post(
        root + "uomschedules?$select=uomscheduleid",
        json={"name": "NAV CRATE", "baseuomname": "CRATE"},
        headers={"Prefer": "return=representation"},
    )
    assert created.status_code == 201, created.text
    group = created.json()["uomscheduleid"]
    units = session.get(
        root + f"uoms?$select=name,quantity,isschedulebaseuom&$filter=_uomscheduleid_value eq {group}"
    ).json()["value"]
    assert [(u["name"], float(u["quantity"]), u["isschedulebaseuom"]) for u in units] == [
        ("CRATE", 1.0, True)
    ]
