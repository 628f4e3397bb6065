"""The I/O objects a task works with: registry, both service hooks and the coupling store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from bcsync.hooks.business_central import BusinessCentralHook
from bcsync.hooks.dataverse import DataverseHook
from bcsync.registry import load_registry
from bcsync.registry.registry import Registry
from bcsync.store.store import CouplingStore


@dataclass
class Services:
    """Built lazily from the Airflow Connections `bc_default`, `dataverse_default`, `bcsync_store`.

    `max_in_flight` caps a side's hook ("bc", "crm") at that many requests at once: the pool slots the
    task holds for that service.
    """

    bc_conn_id: str = BusinessCentralHook.default_conn_name
    dataverse_conn_id: str = DataverseHook.default_conn_name
    store_conn_id: str = "bcsync_store"
    max_in_flight: Mapping[str, int] = field(default_factory=dict)

    @cached_property
    def registry(self) -> Registry:
        return load_registry()

    @cached_property
    def bc(self) -> BusinessCentralHook:
        return BusinessCentralHook(self.bc_conn_id, max_in_flight=self.max_in_flight.get("bc"))

    @cached_property
    def crm(self) -> DataverseHook:
        return DataverseHook(self.dataverse_conn_id, max_in_flight=self.max_in_flight.get("crm"))

    @cached_property
    def store(self) -> CouplingStore:
        return CouplingStore.from_connection(self.store_conn_id)

    def close(self) -> None:
        """Close the store's pooled connections, if the store was used. Each SQLite connection keeps
        its page cache (`SQLITE_CACHE_KIB`): a process that runs several tasks (dag.test, the
        in-process runner) would otherwise hold every finished task's."""
        store = self.__dict__.get("store")  # a cached_property not yet read makes no store
        if store is not None:
            store.dispose()
