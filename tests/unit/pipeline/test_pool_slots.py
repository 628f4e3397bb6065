"""A task's hooks send no more requests at once than the slots it holds in its service's pool."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.models.connection import Connection

from bcsync.pipeline.services import Services
from bcsync.pools import POOL_SIZES, WRITE_SLOTS, slots_held


@pytest.mark.parametrize(
    ("pool", "pool_slots", "held"),
    [
        ("bc_api", 5, {"bc": 5}),
        ("dataverse_api", 4, {"crm": 4}),
        ("dataverse_api", 1, {"crm": 1}),
        ("default_pool", 1, {}),  # not an API task: the hooks keep their own settings
    ],
)
def test_the_pool_names_the_service_and_the_slots_its_requests(pool, pool_slots, held):
    assert slots_held(SimpleNamespace(pool=pool, pool_slots=pool_slots)) == held


def test_services_cap_the_hook_of_the_pools_service_only(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = '{"tenant_id": "t", "company_id": "c", "max_concurrency": 5}'
    for conn_id, host in (("bc_default", "api.businesscentral.dynamics.com"), ("dataverse_default", "org")):
        uri = Connection(conn_id=conn_id, conn_type="http", host=host, login="id", password="s", extra=extra)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", uri.get_uri())

    services = Services(max_in_flight={"bc": 2})

    assert services.bc.concurrency == 2
    assert services.crm.concurrency == 5  # the connection's setting: this task holds no Dataverse slots


def test_a_load_never_needs_more_slots_than_its_pool_has():
    # A task asking for more slots than the pool has would wait for ever.
    assert all(WRITE_SLOTS[pool] <= size for pool, size in POOL_SIZES.items())
