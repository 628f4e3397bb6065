"""The trigger form's Params refuse what Airflow would otherwise run as something else."""

import pytest
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError

from bcsync.operators.params import sync_params
from bcsync.registry import load_registry

CUSTOMER = load_registry().get("CUSTOMER")
GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def triggered(**conf) -> dict:
    """What Airflow does with a trigger's conf: merge it into the DAG's Params and validate them."""
    params = ParamsDict(sync_params(CUSTOMER))
    params.update(conf)
    return params.validate()


def test_record_ids_take_ids_numbers_and_names():
    records = [GUID, GUID.upper(), "C00150", "Adatum Corporation", "CHF"]
    assert triggered(record_ids=records)["record_ids"] == records


@pytest.mark.parametrize("record_id", ["", "   ", "x" * 251])
def test_record_ids_refuse_what_cannot_name_a_record(record_id):
    with pytest.raises(ParamValidationError):
        triggered(record_ids=[record_id])
