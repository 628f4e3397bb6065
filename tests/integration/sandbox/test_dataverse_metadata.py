"""Dataverse metadata over HTTPS: the `$metadata` CSDL and `EntityDefinitions` with their query forms."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest
import requests

from sandbox.launcher import RunningSandbox

Api = tuple[requests.Session, str]
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture
def api(sandbox: RunningSandbox, dataverse_token: str, new_session: Any) -> Api:
    return new_session(sandbox.ca_file, dataverse_token), sandbox.dataverse_api + "/"


def test_csdl_declares_types_keys_navigation_sets_and_bulk_actions(api: Api) -> None:
    session, root = api
    response = session.get(root + "$metadata?annotations=true")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    document = ElementTree.fromstring(response.content)
    account = document.find(f".//{EDM}EntityType[@Name='account']")
    assert account is not None
    assert account.find(f"{EDM}Key/{EDM}PropertyRef").get("Name") == "accountid"
    properties = {p.get("Name"): p for p in account.findall(f"{EDM}Property")}
    assert properties["name"].get("MaxLength") == "160"
    assert properties["_primarycontactid_value"].get("Type") == "Edm.Guid"
    navigation = {n.get("Name"): n.get("Type") for n in account.findall(f"{EDM}NavigationProperty")}
    assert navigation["primarycontactid"] == "mscrm.contact"
    assert navigation["contact_customer_accounts"] == "Collection(mscrm.contact)"
    actions = {a.get("Name") for a in document.findall(f".//{EDM}Action")}
    assert {"CreateMultiple", "UpdateMultiple", "UpsertMultiple"} <= actions
    accounts = document.find(f".//{EDM}EntitySet[@Name='accounts']")
    assert accounts is not None
    assert accounts.find(f"{EDM}Annotation").get("Term") == "Org.OData.Capabilities.V1.ChangeTracking"


def test_entity_definitions_filter_and_select(api: Api) -> None:
    session, root = api
    response = session.get(
        root + "EntityDefinitions",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'account'",
        },
    )
    assert response.status_code == 200
    (item,) = response.json()["value"]
    assert {k: item[k] for k in ("LogicalName", "EntitySetName", "PrimaryIdAttribute")} == {
        "LogicalName": "account",
        "EntitySetName": "accounts",
        "PrimaryIdAttribute": "accountid",
    }
    tracked = session.get(
        root + "EntityDefinitions",
        params={"$select": "LogicalName", "$filter": "ChangeTrackingEnabled eq true"},
    ).json()["value"]
    assert {"account", "contact"} <= {entry["LogicalName"] for entry in tracked}


def test_entity_definition_by_logical_name_with_attributes_and_keys(api: Api) -> None:
    session, root = api
    item = session.get(root + "EntityDefinitions(LogicalName='contact')").json()
    assert (item["PrimaryNameAttribute"], item["ObjectTypeCode"], item["ChangeTrackingEnabled"]) == (
        "fullname",
        2,
        True,
    )
    attributes = session.get(
        root + "EntityDefinitions(LogicalName='contact')/Attributes",
        params={"$select": "LogicalName,AttributeType,MaxLength", "$filter": "LogicalName eq 'lastname'"},
    ).json()["value"]
    assert attributes[0]["AttributeType"] == "String" and attributes[0]["MaxLength"] == 50
    lookup = session.get(
        root + "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='parentcustomerid')"
    ).json()
    assert lookup["AttributeType"] == "Customer" and lookup["Targets"] == ["account", "contact"]
    assert session.get(root + "EntityDefinitions(LogicalName='account')/Keys").json()["value"] == []


def test_picklist_cast_with_option_sets(api: Api) -> None:
    session, root = api
    url = (
        f"{root}EntityDefinitions(LogicalName='account')/Attributes/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)"
    )
    items = {item["LogicalName"]: item for item in session.get(url).json()["value"]}
    options = {
        o["Value"]: o["Label"]["LocalizedLabels"][0]["Label"]
        for o in items["customertypecode"]["OptionSet"]["Options"]
    }
    assert options[3] == "Customer" and options[11] == "Vendor"
    assert "name" not in items


def test_unknown_entity_definition_is_404(api: Api) -> None:
    session, root = api
    assert session.get(root + "EntityDefinitions(LogicalName='nosuch')").status_code == 404
