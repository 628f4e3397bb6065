"""`bin/bcsync mappings validate`'s online part: which services to ask, asking them, and why one was not.

By default a service is asked when its Airflow Connection is in the environment (`AIRFLOW_CONN_<ID>`),
which costs nothing to find out; `online` looks the connection up through Airflow (secrets backends,
metadata database) and requires the check to run; `offline` asks neither.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bcsync.registry.errors import Problem
from bcsync.registry.metadata_checks import check_business_central_names, check_dataverse_names
from bcsync.registry.registry import Registry

DATAVERSE_CONN_ID = "dataverse_default"  # the hooks' default connections (not imported: Airflow is slow)
BC_CONN_ID = "bc_default"


class OnlineMode(StrEnum):
    AUTO = "auto"  # when the connection is in the environment
    ONLINE = "online"  # always; failing to check is an error
    OFFLINE = "offline"  # never


@dataclass(frozen=True)
class ServiceCheck:
    """The outcome for one service: its problems, or why it was not checked."""

    service: str
    conn_id: str
    problems: tuple[Problem, ...] = ()
    skipped: str | None = None  # not asked (mode, no connection)
    failed: str | None = None  # asked, but its metadata could not be read

    @property
    def checked(self) -> bool:
        return self.skipped is None and self.failed is None


def check_against_services(
    registry: Registry,
    mode: OnlineMode = OnlineMode.AUTO,
    *,
    dataverse_conn_id: str = DATAVERSE_CONN_ID,
    bc_conn_id: str = BC_CONN_ID,
) -> list[ServiceCheck]:
    """Dataverse, then Business Central."""
    return [
        _check(
            "Dataverse", dataverse_conn_id, mode, lambda: _dataverse_problems(registry, dataverse_conn_id)
        ),
        _check("Business Central", bc_conn_id, mode, lambda: _bc_problems(registry, bc_conn_id)),
    ]


def _check(
    service: str, conn_id: str, mode: OnlineMode, problems: Callable[[], list[Problem]]
) -> ServiceCheck:
    if mode is OnlineMode.OFFLINE:
        return ServiceCheck(service, conn_id, skipped="--offline")
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    if mode is OnlineMode.AUTO and not os.environ.get(variable):
        return ServiceCheck(
            service, conn_id, skipped=f"{variable} is not set (--online looks the connection up in Airflow)"
        )
    try:
        return ServiceCheck(service, conn_id, problems=tuple(problems()))
    except Exception as error:  # any reason the service could not be asked is the operator's to read
        return ServiceCheck(service, conn_id, failed=f"{type(error).__name__}: {error}")


def _dataverse_problems(registry: Registry, conn_id: str) -> list[Problem]:
    from bcsync.hooks import DataverseHook
    from bcsync.registry.service_metadata import DataverseMetadata

    return check_dataverse_names(registry, DataverseMetadata(DataverseHook(conn_id)))


def _bc_problems(registry: Registry, conn_id: str) -> list[Problem]:
    from bcsync.hooks import BusinessCentralHook
    from bcsync.registry.service_metadata import BusinessCentralMetadata

    return check_business_central_names(registry, BusinessCentralMetadata(BusinessCentralHook(conn_id)))
