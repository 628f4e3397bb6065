"""Edits made "in the other system's UI": straight into the local services' data, not through bcsync.

Used where the tests need what no client call can do: a BC record last modified in the past (as if
changed yesterday), a BC setup row (an exchange rate) entered by a BC administrator.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.bc import SCHEMAS as BC_SCHEMAS
from sandbox.dataverse import SCHEMAS as DATAVERSE_SCHEMAS
from sandbox.launcher import RunningSandbox
from sandbox.storage.database import Database
from sandbox.storage.repository import Repository

ROOT = Path(__file__).resolve().parents[1]


def sandbox_cli(sandbox: RunningSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """`bin/sandbox <args>` on this sandbox's data: an edit or delete as a user makes it in BC or Sales."""
    env = {**os.environ, "SANDBOX_DATA_DIR": str(sandbox.data_dir), "SANDBOX_DB_URL": sandbox.db_url}
    return subprocess.run(
        [str(ROOT / "bin" / "sandbox"), *args], env=env, capture_output=True, text=True, timeout=60
    )


@contextmanager
def _repository(sandbox: RunningSandbox, schemas: Any) -> Iterator[Repository]:
    database = Database(sandbox.db_url, schemas)
    try:
        yield Repository(database)
    finally:
        database.dispose()


def _schema(schemas: Any, logical_name: str) -> Any:
    return next(s for s in schemas if s.logical_name == logical_name)


def bc_insert(sandbox: RunningSandbox, logical_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    with _repository(sandbox, BC_SCHEMAS) as repository:
        return repository.insert(
            _schema(BC_SCHEMAS, logical_name), values, company=sandbox.company_id, as_system=True
        )


def bc_rows(sandbox: RunningSandbox, logical_name: str) -> list[dict[str, Any]]:
    """Every row of a BC table in the sandbox's company."""
    with _repository(sandbox, BC_SCHEMAS) as repository:
        return list(repository.query(_schema(BC_SCHEMAS, logical_name), company=sandbox.company_id))


def bc_update(
    sandbox: RunningSandbox, logical_name: str, key: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """An update as BC's own UI makes it; `lastModifiedDateTime` in `values` is kept (else: now)."""
    with _repository(sandbox, BC_SCHEMAS) as repository:
        return repository.update(
            _schema(BC_SCHEMAS, logical_name), key, values, company=sandbox.company_id, as_system=True
        )


def dataverse_get(sandbox: RunningSandbox, logical_name: str, key: str) -> dict[str, Any] | None:
    with _repository(sandbox, DATAVERSE_SCHEMAS) as repository:
        return repository.get(_schema(DATAVERSE_SCHEMAS, logical_name), key)


def dataverse_rows(sandbox: RunningSandbox, logical_name: str) -> list[dict[str, Any]]:
    """Every row of a Dataverse table in the sandbox."""
    with _repository(sandbox, DATAVERSE_SCHEMAS) as repository:
        return list(repository.query(_schema(DATAVERSE_SCHEMAS, logical_name)))


def enter_chf_exchange_rate(sandbox: RunningSandbox) -> dict[str, Any]:
    """The BC administrator enters the exchange rate the seed leaves CHF without (in BC's own UI)."""
    return bc_insert(
        sandbox,
        "currencyExchangeRate",
        {
            "currencyCode": "CHF",
            "startingDate": date(2026, 1, 1),
            "exchangeRateAmount": Decimal("100"),
            "relationalExchangeRateAmount": Decimal("112.5"),
        },
    )
