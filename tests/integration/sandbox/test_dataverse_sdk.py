"""Microsoft's own Dataverse SDK for Python works against the sandbox unchanged.

It authenticates with azure-identity against the sandbox's Entra ID, resolves tables through
EntityDefinitions, converts choice labels through the picklist metadata and uses CreateMultiple,
UpdateMultiple and paged reads, so this test covers what an off-the-shelf client relies on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.identity import ClientSecretCredential
from PowerPlatform.Dataverse.client import DataverseClient

from sandbox.launcher import RunningSandbox


@pytest.fixture
def client(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataverseClient]:
    # The SDK's requests session reads the CA bundle from the environment.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_file))
    credential = ClientSecretCredential(
        sandbox.tenant_id,
        sandbox.client_id,
        sandbox.client_secret,
        authority=sandbox.entra_url,
        disable_instance_discovery=True,
        connection_verify=str(sandbox.ca_file),
    )
    with DataverseClient(sandbox.dataverse_url, credential) as dataverse:
        yield dataverse
    credential.close()


def test_sdk_creates_reads_updates_queries_and_deletes(client: DataverseClient) -> None:
    tag = uuid.uuid4().hex[:8]
    account_id = client.records.create(
        "account", {"name": f"{tag} SDK", "telephone1": "555-0100", "customertypecode": "Customer"}
    )
    record = client.records.get("account", account_id, select=["name", "telephone1", "customertypecode"])
    assert (record["name"], record["telephone1"], record["customertypecode"]) == (f"{tag} SDK", "555-0100", 3)

    client.records.update("account", account_id, {"telephone1": "555-0199"})
    assert client.records.get("account", account_id, select=["telephone1"])["telephone1"] == "555-0199"

    many = client.records.create("account", [{"name": f"{tag} bulk {i}"} for i in range(5)])
    assert len(many) == 5
    client.records.update("account", many, {"telephone1": "555-0123"})

    pages = list(
        client.records.get(
            "account",
            filter=f"startswith(name,'{tag}')",
            select=["name", "telephone1"],
            orderby=["name"],
            page_size=2,
        )
    )
    assert [len(page) for page in pages] == [2, 2, 2]
    names = [row["name"] for page in pages for row in page]
    assert names == sorted([f"{tag} SDK"] + [f"{tag} bulk {i}" for i in range(5)], key=str.lower)
    assert {row["telephone1"] for page in pages for row in page} == {"555-0199", "555-0123"}

    client.records.delete("account", account_id)
    remaining = client.records.list("account", filter=f"startswith(name,'{tag}')", select=["name"])
    assert len(list(remaining)) == 5
