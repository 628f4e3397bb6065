"""Business Central `$metadata`: CSDL for the standard and the custom route, derived from the pages."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

from sandbox.launcher import RunningSandbox

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture
def session(sandbox: RunningSandbox, bc_token: str, new_session) -> requests.Session:
    return new_session(sandbox.ca_file, bc_token)


def schema(session: requests.Session, url: str) -> ET.Element:
    response = session.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.content).find(f".//{EDM}Schema")


def entity_type(root: ET.Element, name: str) -> ET.Element:
    return root.find(f"{EDM}EntityType[@Name='{name}']")


def test_standard_metadata_describes_customers(sandbox: RunningSandbox, session: requests.Session) -> None:
    root = schema(session, f"{sandbox.bc_api}/$metadata")

    assert root.get("Namespace") == "Microsoft.NAV"
    customer = entity_type(root, "customer")
    assert [ref.get("Name") for ref in customer.iter(f"{EDM}PropertyRef")] == ["id"]
    types = {p.get("Name"): p.get("Type") for p in customer.findall(f"{EDM}Property")}
    assert types["id"] == "Edm.Guid"
    assert types["lastModifiedDateTime"] == "Edm.DateTimeOffset"
    assert types["creditLimit"] == "Edm.Decimal"
    assert types["blocked"] == "Microsoft.NAV.customerBlocked"
    display = customer.find(f"{EDM}Property[@Name='displayName']")
    assert display.get("MaxLength") == "100"
    navigation = customer.find(f"{EDM}NavigationProperty[@Name='currency']")
    assert navigation.get("Type") == "Microsoft.NAV.currency"


def test_enums_encode_blank_and_spaced_members(sandbox: RunningSandbox, session: requests.Session) -> None:
    root = schema(session, f"{sandbox.bc_api}/$metadata")

    blocked = root.find(f"{EDM}EnumType[@Name='customerBlocked']")
    statuses = root.find(f"{EDM}EnumType[@Name='salesInvoiceStatus']")
    assert [m.get("Name") for m in blocked] == ["_x0020_", "Ship", "Invoice", "All"]
    assert "In_x0020_Review" in [m.get("Name") for m in statuses]


def test_entity_container_lists_the_sets_and_expand_bindings(
    sandbox: RunningSandbox, session: requests.Session
) -> None:
    root = schema(session, f"{sandbox.bc_api}/$metadata")

    sets = {s.get("Name"): s for s in root.iter(f"{EDM}EntitySet")}
    assert sets["salesInvoices"].get("EntityType") == "Microsoft.NAV.salesInvoice"
    bindings = {b.get("Path"): b.get("Target") for b in sets["salesInvoices"]}
    assert bindings["salesInvoiceLines"] == "salesInvoiceLines"
    assert "customerPriceGroups" not in sets
    lines = entity_type(root, "salesInvoice").find(f"{EDM}NavigationProperty[@Name='salesInvoiceLines']")
    assert lines.get("Type") == "Collection(Microsoft.NAV.salesInvoiceLine)"


def test_read_only_properties_are_marked_computed(sandbox: RunningSandbox, session: requests.Session) -> None:
    customer = entity_type(schema(session, f"{sandbox.bc_api}/$metadata"), "customer")

    computed = {
        p.get("Name")
        for p in customer.findall(f"{EDM}Property")
        if p.find(f"{EDM}Annotation[@Term='Org.OData.Core.V1.Computed']") is not None
    }
    assert {"id", "lastModifiedDateTime", "balanceDue"} <= computed
    assert "displayName" not in computed


def test_custom_route_metadata(sandbox: RunningSandbox, session: requests.Session) -> None:
    url = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api/bcsync/sync/v1.0/$metadata"
    root = schema(session, url)

    sets = {s.get("Name") for s in root.iter(f"{EDM}EntitySet")}
    assert {"customerPriceGroups", "salesPrices", "resources", "customerStatistics", "customers"} <= sets
    customer = entity_type(root, "customer")
    names = {p.get("Name") for p in customer.findall(f"{EDM}Property")}
    assert {"faxNo", "primaryContactNo", "shippingAgentCode", "homePage", "no", "name"} <= names
