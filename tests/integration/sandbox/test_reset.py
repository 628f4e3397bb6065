"""`POST /_sandbox/reset` over HTTPS: the start seed again (same records, same ETags), records written
since gone, protection, fault rules and stats as at start, tokens still valid."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from sandbox.launcher import free_ports
from sandbox.server import Sandbox, build_sandbox, serving_in_background
from sandbox.settings import SandboxSettings

# Started with an override, so "as at start" differs from the defaults.
START_PROTECTION = {"limits": {"max_requests": 1000}}
SEED_READS = {  # what the seed wrote, read through each service's API
    "dataverse": ["accounts", "contacts", "transactioncurrencies"],
    "bc": ["customers", "contacts", "currencies", "salespeoplePurchasers"],
}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    entra_port, dataverse_port, bc_port = free_ports(3)
    settings = SandboxSettings(
        data_dir=tmp_path_factory.mktemp("reset"),
        entra_port=entra_port,
        dataverse_port=dataverse_port,
        bc_port=bc_port,
        seed_customers=10,
        dataverse_protection=START_PROTECTION,
    )
    with serving_in_background(build_sandbox(settings)) as sandbox:
        yield sandbox


class Client:
    """Both services and their admin routes, with tokens from the admin token route."""

    def __init__(self, sandbox: Sandbox, session: requests.Session) -> None:
        self.settings = settings = sandbox.settings
        self.session = session
        self.urls = {"entra": settings.entra_url, "dataverse": settings.dataverse_url, "bc": settings.bc_url}
        self.tokens = {
            "dataverse": self.admin(
                "entra", "POST", "token", {"scope": f"{settings.dataverse_url}/.default"}
            ),
            "bc": self.admin("entra", "POST", "token", {"scope": f"{settings.bc_resource}/.default"}),
        }
        bc_api = f"{settings.bc_url}/v2.0/{settings.tenant_id}/{settings.bc_environment}/api/v2.0"
        self.api = {
            "dataverse": f"{settings.dataverse_url}/api/data/v9.2",
            "bc": f"{bc_api}/companies({settings.company_id})",
        }

    def admin(self, service: str, method: str, route: str, body: Any = None) -> Any:
        response = self.session.request(
            method, f"{self.urls[service]}/_sandbox/{route}", json=body, timeout=30
        )
        assert response.ok, response.text
        return response.json()

    def call(self, service: str, method: str, path: str, **options: Any) -> requests.Response:
        token = self.tokens[service]["access_token"]
        headers = {"Authorization": f"Bearer {token}", **options.pop("headers", {})}
        return self.session.request(
            method, f"{self.api[service]}/{path}", headers=headers, timeout=30, **options
        )

    def rows(self, service: str, entity_set: str) -> list[dict[str, Any]]:
        response = self.call(service, "GET", entity_set)
        assert response.status_code == 200, response.text
        return response.json()["value"]

    def seed_reads(self) -> dict[str, list[dict[str, Any]]]:
        return {f"{s}/{e}": self.rows(s, e) for s, sets in SEED_READS.items() for e in sets}


@pytest.fixture
def client(local: Sandbox, new_session: Any) -> Client:
    return Client(local, new_session(local.settings.ca_file))


def row_counts(sandbox: Sandbox) -> dict[str, int]:
    with sandbox.database.transaction(write=False) as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in sandbox.database.metadata.sorted_tables
        }


def test_reset_restores_the_seeded_records_with_their_etags_and_drops_what_was_written(
    local: Sandbox, client: Client
) -> None:
    seeded, counts = client.seed_reads(), row_counts(local)
    account = client.call("dataverse", "POST", "accounts", json={"name": "Written before the reset"})
    assert account.status_code == 204, account.text
    first_customer = seeded["bc/customers"][0]
    changed = client.call(
        "bc", "PATCH", f"customers({first_customer['id']})", json={"city": "Oslo"}, headers={"If-Match": "*"}
    )
    assert changed.status_code == 200, changed.text
    # BC refuses to delete a customer with ledger entries or outstanding sales lines (nothing changes
    # then); delete the first seeded customer after the first that has none.
    for customer in seeded["bc/customers"][1:]:
        gone = client.call("bc", "DELETE", f"customers({customer['id']})", headers={"If-Match": "*"})
        if gone.status_code != 400:
            break
    assert gone.status_code == 204, gone.text
    assert client.seed_reads() != seeded

    answer = client.admin("bc", "POST", "reset")  # any port resets the whole sandbox

    assert answer["customers"] == 10 and answer["seed"] == local.settings.seed and answer["seconds"] >= 0
    assert client.seed_reads() == seeded  # values, ids, ETags (row versions) as before
    assert row_counts(local) == counts  # no extra rows anywhere, tombstones included


def test_reset_puts_protection_faults_and_stats_back_as_at_start(local: Sandbox, client: Client) -> None:
    at_start = client.admin("dataverse", "GET", "protection")
    assert at_start["limits"]["max_requests"] == 1000
    client.admin("dataverse", "PUT", "protection", {"limits": {"enabled": True, "max_requests": 3}})
    rule = {"method": "GET", "path": "customers", "fault": "status", "status": 503, "count": None}
    client.admin("bc", "POST", "faults", {"rules": [rule]})
    assert client.call("bc", "GET", "customers").status_code == 503
    client.rows("dataverse", "accounts")

    client.admin("dataverse", "POST", "reset")

    assert client.admin("dataverse", "GET", "protection") == at_start
    assert client.admin("bc", "GET", "faults") == {"rules": []}
    for service in ("entra", "dataverse", "bc"):
        stats = client.admin(service, "GET", "stats")
        assert stats["total"] == 0 and stats.get("faults_injected", {}) == {}, stats
    # The limits are off again (three requests were the budget) and the tokens still work.
    for _ in range(4):
        client.rows("dataverse", "accounts")
    assert client.call("bc", "GET", "customers").status_code == 200


def test_reset_of_a_used_database_gives_what_a_fresh_start_gives(
    local: Sandbox, client: Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    client.call("dataverse", "POST", "contacts", json={"lastname": "Written before the reset"})
    client.admin("entra", "POST", "reset")
    fresh_settings = SandboxSettings(
        data_dir=tmp_path_factory.mktemp("fresh"), seed_customers=10, dataverse_protection=START_PROTECTION
    )
    fresh = build_sandbox(fresh_settings)
    try:
        assert row_counts(local) == row_counts(fresh)
    finally:
        fresh.database.dispose()
