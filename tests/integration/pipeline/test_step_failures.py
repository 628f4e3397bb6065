"""A step over a wrong mapping fails its task once, with the service's answer: no retry can fix it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from bcsync.operators.extract import ExtractOperator


def task_context(task_id: str) -> dict:
    return {
        "dag_run": SimpleNamespace(
            dag_id="bcsync_customer", run_id="unknown_column", run_type="manual", conf={}
        ),
        "ti": SimpleNamespace(task_id=task_id, try_number=1),
        "params": {"full_sync": True},
    }


@pytest.mark.parametrize("side", ["crm", "bc"])
def test_extract_over_a_mapping_with_an_unknown_column_fails_without_retries(harness, side):
    customer = harness.services.registry.get("CUSTOMER")
    wrong = customer.model_copy(update={f"{side}_read_also": ("nosuchcolumn",)})
    task = ExtractOperator(
        task_id=f"extract_{side}", side=side, mapping=wrong, staging_url=str(harness.staging), retries=2
    )
    with pytest.raises(AirflowFailException, match=r"RecordRejected: HTTP 400.*nosuchcolumn"):
        task.execute(task_context(task.task_id))
