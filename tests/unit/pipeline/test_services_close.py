"""A task lets go of the store's connections when it ends: a process running several tasks keeps none."""

from __future__ import annotations

from pathlib import Path

import pytest

from bcsync.pipeline.services import Services


def test_closing_services_closes_the_pooled_store_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STORE", f"sqlite:///{tmp_path / 'store.db'}")
    services = Services()
    services.store.couplings("CUSTOMER")  # a connection is opened and goes back to the pool
    assert services.store.engine.pool.checkedin() == 1

    services.close()

    assert services.store.engine.pool.checkedin() == 0


def test_closing_services_that_never_used_the_store_opens_none() -> None:
    services = Services(store_conn_id="no_such_connection")

    services.close()

    assert "store" not in services.__dict__
