"""The actions catalog: the DAG and conf each action triggers, and plain messages for bad requests."""

import pytest

from bcsync.actions.catalog import ACTIONS, ActionError, action_request


def test_every_action_has_its_dag():
    assert {name: spec.dag_id for name, spec in ACTIONS.items()} == {
        "couple": "bcsync_couple",
        "match_couple": "bcsync_match_couple",
        "uncouple": "bcsync_uncouple",
        "delete_coupling": "bcsync_delete_coupling",
        "delete_coupled_record": "bcsync_delete_coupled_record",
        "create_new": "bcsync_create_new",
        "restore": "bcsync_restore",
        "synchronize_now": "",
    }
    assert ACTIONS["couple"].needs_counterpart and not ACTIONS["uncouple"].needs_counterpart


def test_couple_request_carries_job_records_and_options():
    dag_id, conf = action_request(
        "couple",
        "customer",
        ["C00150"],
        counterpart="Adatum",
        synchronize_after="yes",
        direction="ToIntegrationTable",
    )
    assert dag_id == "bcsync_couple"
    assert conf == {
        "job": "CUSTOMER",
        "records": ["C00150"],
        "counterpart": "Adatum",
        "synchronize_after": True,
        "direction": "ToIntegrationTable",
    }


def test_synchronize_now_runs_in_the_jobs_own_dag():
    assert action_request("synchronize_now", "CUSTOMER", [" C00150 ", "C00150", "x"]) == (
        "bcsync_customer",
        {"record_ids": ["C00150", "x"]},
    )


def test_match_fields_by_caption_or_api_name():
    _, conf = action_request("match_couple", "CUSTOMER", ["C00010"], match_fields=["name", "E-Mail"])
    assert conf["match_fields"] == ["displayName", "email"]


@pytest.mark.parametrize(
    ("action", "job", "records", "options", "message"),
    [
        ("marry", "CUSTOMER", ["C1"], {}, "Unknown action 'marry'; actions: couple"),
        ("uncouple", "VENDOR", ["C1"], {}, "There is no job 'VENDOR'; jobs: "),
        ("uncouple", "CUSTOMER", [" ", ""], {}, "Select at least one record"),
        ("uncouple", "CUSTOMER", ["C1"], {"side": "bc"}, "Uncouple does not take side; it takes no options"),
        ("couple", "CUSTOMER", ["C1"], {}, "Couple needs counterpart"),
        (
            "couple",
            "CUSTOMER",
            ["C1", "C2"],
            {"counterpart": "A"},
            "Couple takes one record at a time, not 2",
        ),
        ("couple", "CUSTOMER", ["C1"], {"counterpart": "A", "direction": "up"}, "direction must be To"),
        (
            "couple",
            "CURRENCY",
            ["EUR"],
            {"counterpart": "A", "direction": "FromIntegrationTable"},
            "CURRENCY",
        ),
        ("create_new", "CURRENCY", ["EUR"], {"side": "crm"}, "does not write to Business Central"),
        ("match_couple", "SALESPEOPLE", ["AH"], {"create_new_if_no_match": True}, "does not write to Sales"),
        ("delete_coupled_record", "CUSTOMER", ["C1"], {"side": "left"}, "side must be 'bc'"),
        ("match_couple", "CUSTOMER", ["C1"], {"match_fields": ["Colour"]}, "no field mapping for Colour"),
        (
            "match_couple",
            "CUSTOMER",
            ["C1"],
            {"case_sensitive": "maybe"},
            "case_sensitive must be true or false",
        ),
    ],
)
def test_bad_requests_get_a_plain_message(action, job, records, options, message):
    with pytest.raises(ActionError) as refused:
        action_request(action, job, records, **options)
    assert message in str(refused.value)
    assert "pattern" not in str(refused.value)
