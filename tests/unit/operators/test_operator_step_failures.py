"""How a step's failure reaches Airflow: what no retry can fix fails the task at once, the rest retries."""

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from bcsync.operators.extract import ExtractOperator
from bcsync.registry import load_registry
from bcsync.wire.errors import RecordRejected

CUSTOMER = load_registry().get("CUSTOMER")


class FailingExtract(ExtractOperator):
    def __init__(self, *, error: Exception, **kwargs):
        super().__init__(**kwargs)
        self.error = error
        self.calls = 0

    def run_step(self, step):
        self.calls += 1
        raise self.error


def task_context() -> dict:
    return {
        "dag_run": SimpleNamespace(dag_id="bcsync_customer", run_id="r1", run_type="manual", conf={}),
        "ti": SimpleNamespace(task_id="extract_crm", try_number=1),
        "params": {},
    }


def test_a_query_the_service_refuses_fails_the_task_without_retries(tmp_path):
    # A mapping naming a column the table does not have: the service answers 400 to the query.
    rejected = RecordRejected("Could not find a property named 'nosuchcolumn'.", status=400, code="0x0")
    task = FailingExtract(
        error=rejected, task_id="extract_crm", side="crm", mapping=CUSTOMER, staging_url=f"file://{tmp_path}"
    )
    with pytest.raises(AirflowFailException, match=r"RecordRejected: HTTP 400.*nosuchcolumn") as failure:
        task.execute(task_context())
    assert failure.value.__cause__ is rejected and task.calls == 1


def test_a_transient_error_is_left_to_airflows_retries(tmp_path):
    task = FailingExtract(
        error=ConnectionError("reset by peer"),
        task_id="extract_crm",
        side="crm",
        mapping=CUSTOMER,
        staging_url=f"file://{tmp_path}",
    )
    with pytest.raises(ConnectionError):
        task.execute(task_context())
