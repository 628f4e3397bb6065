"""Sales rows read again for the one-second look-back, already taken by the last sync: they count
Unchanged without planning (`ExtractResult.settled`), whichever pass took their modified-on last."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from bcsync.pipeline.extract import _settled_in_look_back
from bcsync.registry import load_registry
from bcsync.store import CouplingStore

CUSTOMER = load_registry().get("CUSTOMER")
WRITTEN_AT = datetime(2026, 3, 1, 8, 0, 5, tzinfo=UTC)
NAMES = ("created", "failed", "changed", "synced", "uncoupled")
BC = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"bc/{name}")) for name in NAMES}
CRM = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm/{name}")) for name in NAMES}


def test_rows_our_to_pass_wrote_count_but_failed_and_changed_ones_do_not(tmp_path: Path) -> None:
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        coupled = NAMES[:4]
        store.couple(
            CUSTOMER.name,
            pd.DataFrame(
                {
                    "bc_id": [BC[n] for n in coupled],
                    "crm_id": [CRM[n] for n in coupled],
                    "bc_synced_on": WRITTEN_AT,
                    # Our writes took each row's modified-on; "changed" was modified after ours.
                    "crm_synced_on": [WRITTEN_AT, WRITTEN_AT, WRITTEN_AT - timedelta(seconds=1), WRITTEN_AT],
                }
            ),
        )
        # The To pass created "created" (no From result yet); the From pass failed on "failed".
        store.record_sync_results(
            CUSTOMER.name,
            "FromIntegrationTable",
            pd.DataFrame(
                {
                    "crm_id": [CRM["failed"], CRM["synced"]],
                    "result": ["Failure", "Success"],
                    "message": ["refused", None],
                    "bc_modified_on": [None, WRITTEN_AT],
                    "crm_modified_on": [None, WRITTEN_AT],
                }
            ),
        )
        look_back = pd.DataFrame(
            {CUSTOMER.crm_key: [CRM[n] for n in NAMES], CUSTOMER.crm_modified_field: WRITTEN_AT}
        )

        settled = _settled_in_look_back(CUSTOMER, SimpleNamespace(store=store), [look_back])
    finally:
        store.dispose()

    assert settled == 2  # "created" (blank From result) and "synced" (Success)
