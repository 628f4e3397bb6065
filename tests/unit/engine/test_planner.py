"""BC's per-record semantics of one pass, checked on small frames (no I/O)."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    DeletionConflictResolution,
    FieldRule,
    PassSpec,
    SyncPass,
    UpdateConflictResolution,
)
from bcsync.engine.planner import count_actions, plan_pass
from bcsync.engine.transform import lookup_table

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NAME = FieldRule("displayName", "name", "Name", bidirectional=True)
CITY = FieldRule("city", "address1_city", "City", bidirectional=True)
CREDIT = FieldRule("creditLimit", "creditlimit", "Credit Limit (LCY)")
CURRENCY = FieldRule(
    "currencyCode", "transactioncurrencyid", "Currency Code", bidirectional=True, lookup="CURRENCY"
)


def spec(**overrides) -> PassSpec:
    values = dict(
        mapping="CUSTOMER",
        sync_pass=SyncPass.TO_CRM,
        fields=(NAME, CITY, CREDIT),
        bidirectional_mapping=True,
        only_coupled=True,
        source_caption="Customer",
        destination_caption="Account",
    )
    values.update(overrides)
    return PassSpec(**values)


def source(*records) -> pd.DataFrame:
    return pd.DataFrame([{SOURCE_ID: "c1", SOURCE_MODIFIED: T0, **r} for r in records])


def coupled(**overrides) -> pd.DataFrame:
    row = {
        SOURCE_ID: "c1",
        DESTINATION_ID: "a1",
        "source_synced_on": T0 - timedelta(hours=1),
        "destination_synced_on": T0 - timedelta(hours=1),
        "last_result": "Success",
        "skipped": False,
    }
    row.update(overrides)
    return pd.DataFrame([row])


def account(**values) -> pd.DataFrame:
    row = {
        DESTINATION_ID: "a1",
        DESTINATION_MODIFIED: T0 - timedelta(hours=1),
        "name": "Adatum",
        "address1_city": "Atlanta",
        "creditlimit": 1000,
    }
    row.update(values)
    return pd.DataFrame([row])


NO_COUPLINGS = pd.DataFrame(columns=[SOURCE_ID, DESTINATION_ID, "source_synced_on", "destination_synced_on"])
NO_DESTINATION = pd.DataFrame(columns=[DESTINATION_ID, DESTINATION_MODIFIED])
ADATUM = {"displayName": "Adatum", "city": "Atlanta", "creditLimit": 1000}


def only(plan: pd.DataFrame) -> dict:
    assert len(plan) == 1
    return plan.iloc[0].to_dict()


def test_coupled_record_modified_in_bc_updates_only_the_changed_fields():
    plan = plan_pass(spec(), source({**ADATUM, "city": "Boston"}), coupled(), account())
    decision = only(plan)
    assert decision["action"] == "modify"
    assert decision["payload"] == {"address1_city": "Boston"}
    assert decision[DESTINATION_ID] == "a1"


def test_record_not_modified_since_last_sync_is_unchanged_without_comparing_values():
    plan = plan_pass(
        spec(),
        source({**ADATUM, "city": "Boston"}),
        coupled(source_synced_on=T0 + timedelta(milliseconds=5)),
        account(),
    )
    assert only(plan)["action"] == "unchanged"


def test_modified_timestamp_but_equal_values_counts_as_unchanged():
    plan = plan_pass(spec(), source({**ADATUM, "displayName": "  Adatum "}), coupled(), account())
    assert only(plan)["action"] == "unchanged"


def test_record_that_failed_last_time_is_retried_even_if_unchanged():
    plan = plan_pass(
        spec(),
        source({**ADATUM, "city": "Boston"}),
        coupled(source_synced_on=T0 + timedelta(hours=1), last_result="Failure"),
        account(),
    )
    assert only(plan)["action"] == "modify"


def test_skipped_coupling_is_counted_as_skipped_and_not_touched():
    plan = plan_pass(spec(), source({**ADATUM, "city": "Boston"}), coupled(skipped=True), account())
    assert only(plan)["action"] == "skip"


def test_uncoupled_record_is_ignored_when_only_coupled_records_sync():
    plan = plan_pass(spec(), source(ADATUM), NO_COUPLINGS, NO_DESTINATION)
    assert only(plan)["action"] == "ignore"
    assert count_actions(plan["action"]).as_dict()["Skipped"] == 0


def test_uncoupled_record_is_inserted_with_every_mapped_field_in_a_full_sync():
    plan = plan_pass(spec(only_coupled=False), source(ADATUM), NO_COUPLINGS, NO_DESTINATION)
    decision = only(plan)
    assert decision["action"] == "insert"
    assert decision["payload"] == {"name": "Adatum", "address1_city": "Atlanta", "creditlimit": 1000}


def test_both_sides_changing_a_bidirectional_field_fails_by_default_with_bcs_message():
    plan = plan_pass(
        spec(),
        source({**ADATUM, "city": "Boston"}),
        coupled(),
        account(**{DESTINATION_MODIFIED: T0, "address1_city": "Chicago"}),
    )
    decision = only(plan)
    assert decision["action"] == "fail"
    assert "is bi-directional, and one or both values have changed" in decision["error"]


@pytest.mark.parametrize(
    ("resolution", "sync_pass", "expected"),
    [
        (UpdateConflictResolution.SEND_UPDATE_TO_INTEGRATION, SyncPass.TO_CRM, "modify"),
        (UpdateConflictResolution.GET_UPDATE_FROM_INTEGRATION, SyncPass.TO_CRM, "skip"),
    ],
)
def test_update_conflict_resolution_lets_the_chosen_side_win(resolution, sync_pass, expected):
    plan = plan_pass(
        spec(update_conflict=resolution, sync_pass=sync_pass),
        source({**ADATUM, "city": "Boston"}),
        coupled(),
        account(**{DESTINATION_MODIFIED: T0, "address1_city": "Chicago"}),
    )
    assert only(plan)["action"] == expected


def test_both_modified_but_only_unidirectional_field_differs_is_a_normal_modify():
    plan = plan_pass(
        spec(),
        source({**ADATUM, "creditLimit": 5000}),
        coupled(),
        account(**{DESTINATION_MODIFIED: T0}),
    )
    assert only(plan)["action"] == "modify"


def test_deleted_counterpart_fails_by_default():
    plan = plan_pass(spec(), source(ADATUM), coupled(), NO_DESTINATION)
    decision = only(plan)
    assert decision["action"] == "fail"
    assert (
        decision["error"]
        == "The Customer record cannot be updated because it is coupled to a deleted record."
    )


def test_deleted_counterpart_is_restored_or_uncoupled_when_configured():
    restore = plan_pass(
        spec(deletion_conflict=DeletionConflictResolution.RESTORE_RECORDS),
        source(ADATUM),
        coupled(),
        NO_DESTINATION,
    )
    assert only(restore)["action"] == "insert" and only(restore)["replaces_coupling"]
    remove = plan_pass(
        spec(deletion_conflict=DeletionConflictResolution.REMOVE_COUPLING),
        source(ADATUM),
        coupled(),
        NO_DESTINATION,
    )
    assert only(remove)["action"] == "remove_coupling"


def test_lookup_through_couplings_and_blank_currency_means_the_base_currency():
    currencies = {
        "CURRENCY": lookup_table("CURRENCY", {"EUR": "eur-id"}, blank_means="usd-id", caption="Currency")
    }
    records = pd.DataFrame(
        [
            {SOURCE_ID: "c1", SOURCE_MODIFIED: T0, "currencyCode": "eur"},
            {SOURCE_ID: "c2", SOURCE_MODIFIED: T0, "currencyCode": ""},
            {SOURCE_ID: "c3", SOURCE_MODIFIED: T0, "currencyCode": "JPY"},
        ]
    )
    plan = plan_pass(
        spec(fields=(CURRENCY,), only_coupled=False), records, NO_COUPLINGS, NO_DESTINATION, currencies
    )
    assert plan["payload"].tolist()[:2] == [
        {"transactioncurrencyid": "eur-id"},
        {"transactioncurrencyid": "usd-id"},
    ]
    assert plan["action"].tolist()[2] == "fail"
    assert plan["error"].tolist()[2] == "Currency JPY must be coupled to a record in Dynamics 365 Sales."


def test_uncoupled_lookup_is_cleared_when_clear_on_failed_sync_is_set():
    contact = FieldRule("primaryContactNo", "primarycontactid", "Primary Contact No.", lookup="CONTACT")
    contact = FieldRule(**{**contact.__dict__, "clear_on_failed_sync": True})
    lookups = {"CONTACT": lookup_table("CONTACT", {}, caption="Contact")}
    records = pd.DataFrame([{SOURCE_ID: "c1", SOURCE_MODIFIED: T0, "primaryContactNo": "CT000123"}])
    plan = plan_pass(
        spec(fields=(contact,), only_coupled=False), records, NO_COUPLINGS, NO_DESTINATION, lookups
    )
    assert only(plan)["payload"] == {"primarycontactid": None}


def test_counters_follow_bcs_job_columns():
    actions = pd.Series(["insert", "insert", "modify", "unchanged", "skip", "fail", "ignore"])
    assert count_actions(actions).as_dict() == {
        "Inserted": 2,
        "Modified": 1,
        "Deleted": 0,
        "Unchanged": 1,
        "Skipped": 1,
        "Failed": 1,
        "Coupled": 0,
    }


def test_synchronize_now_overrides_a_conflict_in_the_chosen_direction():
    plan = plan_pass(
        spec(force_modify=True),
        source({**ADATUM, "city": "Boston"}),
        coupled(),
        account(**{DESTINATION_MODIFIED: T0, "address1_city": "Chicago"}),
    )
    assert only(plan)["action"] == "modify"


def test_option_value_without_a_mapping_row_leaves_the_destination_field_alone():
    terms = FieldRule("paymentTermsCode", "paymenttermscode", "Payment Terms Code", option_map={"NET30": 2})
    records = pd.DataFrame(
        [
            {SOURCE_ID: "c1", SOURCE_MODIFIED: T0, "paymentTermsCode": "net30"},
            {SOURCE_ID: "c2", SOURCE_MODIFIED: T0, "paymentTermsCode": "COD"},
        ]
    )
    plan = plan_pass(spec(fields=(terms,), only_coupled=False), records, NO_COUPLINGS, NO_DESTINATION)
    assert plan["payload"].tolist() == [{"paymenttermscode": 2}, {}]
