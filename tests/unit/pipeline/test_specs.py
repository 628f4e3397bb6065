"""The registry's mappings turned into what each step reads and what the engine decides with."""

from bcsync.engine.model import Side, SyncPass
from bcsync.pipeline.specs import field_rules, match_groups, pass_spec, passes, side_columns
from bcsync.registry import load_registry

REGISTRY = load_registry()
CUSTOMER = REGISTRY.get("CUSTOMER")


def test_bidirectional_job_runs_to_sales_before_from_sales():
    assert passes(CUSTOMER) == [SyncPass.TO_CRM, SyncPass.FROM_CRM]
    assert passes(CUSTOMER, "FromIntegrationTable") == [SyncPass.FROM_CRM]
    assert passes(REGISTRY.get("CURRENCY")) == [SyncPass.TO_CRM]


def test_field_rules_are_oriented_and_keep_only_fields_of_the_pass():
    to_crm = {r.destination_field: r for r in field_rules(CUSTOMER, SyncPass.TO_CRM, REGISTRY)}
    from_crm = {r.destination_field: r for r in field_rules(CUSTOMER, SyncPass.FROM_CRM, REGISTRY)}
    assert to_crm["address1_line2"].source_field == "addressLine2" and to_crm["address1_line2"].bidirectional
    assert from_crm["addressLine2"].source_field == "address1_line2"
    assert "creditlimit" in to_crm and "creditLimit" not in from_crm  # Credit Limit flows BC → Sales only
    assert to_crm["ownerid"].lookup == "SALESPEOPLE" and to_crm["ownerid"].not_null


def test_lookup_type_companions_are_left_to_the_bind():
    assert "owneridtype" not in {
        r.destination_field for r in field_rules(CUSTOMER, SyncPass.TO_CRM, REGISTRY)
    }
    assert "owneridtype" not in side_columns(CUSTOMER, Side.CRM).select()


def test_sales_lookups_are_read_as_value_columns_and_bc_fields_per_page():
    crm = side_columns(CUSTOMER, Side.CRM).select()
    assert "_transactioncurrencyid_value" in crm and "accountid" in crm and "modifiedon" in crm
    bc = side_columns(CUSTOMER, Side.BC)
    assert "faxNo" in bc.select("custom") and "faxNo" not in bc.select("v2.0")
    assert "number" in bc.select("v2.0")  # what users recognise a customer by, for logs


def test_full_sync_turns_off_only_coupled_records():
    assert pass_spec(CUSTOMER, SyncPass.TO_CRM, REGISTRY).only_coupled
    assert not pass_spec(CUSTOMER, SyncPass.TO_CRM, REGISTRY, full_sync=True).only_coupled


def test_match_criteria_are_oriented_for_the_pass():
    to_crm = match_groups(CUSTOMER, SyncPass.TO_CRM)
    assert [(f.source_field, f.destination_field) for f in to_crm[0]] == [
        ("displayName", "name"),
        ("city", "address1_city"),
    ]
    from_crm = match_groups(CUSTOMER, SyncPass.FROM_CRM)
    assert from_crm[0][0].source_field == "name"
