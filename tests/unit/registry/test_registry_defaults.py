"""The shipped mappings carry BC's defaults (shared/spec/default-mappings.md), job by job."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bcsync.registry import (
    BcApi,
    DeletionConflictResolution,
    IntegrationTableMapping,
    OwnershipModel,
    Registry,
    SyncDirection,
    UpdateConflictResolution,
)

TO_CRM = SyncDirection.TO_INTEGRATION_TABLE
FROM_CRM = SyncDirection.FROM_INTEGRATION_TABLE
BOTH = SyncDirection.BIDIRECTIONAL

JOBS = {
    "CONTACT": "bcsync_contact",
    "CURRENCY": "bcsync_currency",
    "CUSTOMER": "bcsync_customer",
    "CUSTPRCGRP-PRICE": "bcsync_custprcgrp_price",
    "ITEM-PRODUCT": "bcsync_item_product",
    "POSTEDSALESINV-INV": "bcsync_postedsalesinv_inv",
    "RESOURCE-PRODUCT": "bcsync_resource_product",
    "SALESPEOPLE": "bcsync_salespeople",
    "SALESPRC-PRODUCTPRICE": "bcsync_salesprc_productprice",
    "UNITOFMEASURE": "bcsync_unitofmeasure",
    "CUSTOMER STATISTICS": "bcsync_customer_statistics",
}


def field(mapping: IntegrationTableMapping, crm_field: str, bc_caption: str | None = None):
    matches = [
        f
        for f in mapping.fields
        if f.crm_field == crm_field and (bc_caption is None or f.bc_caption == bc_caption)
    ]
    assert len(matches) == 1, (
        f"{mapping.name}: expected one field mapping to {crm_field}, found {len(matches)}"
    )
    return matches[0]


def test_all_eleven_default_jobs_load_with_their_dag_ids(registry: Registry) -> None:
    assert {m.name: m.dag_id for m in registry.jobs} == JOBS


def test_posted_invoice_lines_are_a_child_mapping_without_a_dag(registry: Registry) -> None:
    lines = registry.get("POSTEDSALESLINE-INV")
    assert lines.parent == "POSTEDSALESINV-INV"
    assert lines.dag_id is None and lines.schedule is None
    assert registry.children("POSTEDSALESINV-INV") == (lines,)


def test_invoice_payment_status_runs_in_the_statistics_job_on_coupled_invoices(registry: Registry) -> None:
    status = registry.get("INVOICE PAYMENT STATUS")
    assert status.parent == "CUSTOMER STATISTICS" and status.dag_id is None
    assert status.linked_to.mapping == "POSTEDSALESINV-INV" and status.linked_to.crm_lookup is None
    assert {f.crm_field for f in status.fields} == {"statecode", "statuscode"}
    assert set(status.bc_computed_fields) == {f.bc_field for f in status.fields}
    # A linked child runs beside its parent (a task group of its own), not inside the parent's load.
    assert registry.children("CUSTOMER STATISTICS") == ()
    assert registry.children("POSTEDSALESINV-INV") == (registry.get("POSTEDSALESLINE-INV"),)


@pytest.mark.parametrize(
    ("name", "count"),
    [
        # The rows of each field-mapping table in default-mappings.md (no unit group mapping).
        ("SALESPEOPLE", 3),
        ("CUSTOMER", 20),
        ("CONTACT", 20),
        ("CURRENCY", 3),
        ("UNITOFMEASURE", 1),
        ("ITEM-PRODUCT", 11),
        ("RESOURCE-PRODUCT", 7),
        ("CUSTPRCGRP-PRICE", 1),
        ("SALESPRC-PRODUCTPRICE", 6),
        ("POSTEDSALESINV-INV", 26),
        ("POSTEDSALESLINE-INV", 6),
        ("CUSTOMER STATISTICS", 16),
    ],
)
def test_each_mapping_has_every_default_field_mapping(registry: Registry, name: str, count: int) -> None:
    assert len(registry.get(name).fields) == count


@pytest.mark.parametrize(
    ("name", "direction", "only_coupled"),
    [
        ("SALESPEOPLE", FROM_CRM, True),
        ("CUSTOMER", BOTH, True),
        ("CONTACT", BOTH, True),
        ("CURRENCY", TO_CRM, True),
        ("UNITOFMEASURE", TO_CRM, True),
        ("ITEM-PRODUCT", BOTH, True),
        ("RESOURCE-PRODUCT", BOTH, True),
        ("CUSTPRCGRP-PRICE", TO_CRM, True),
        ("SALESPRC-PRODUCTPRICE", TO_CRM, False),
        ("POSTEDSALESINV-INV", TO_CRM, True),
        ("POSTEDSALESLINE-INV", TO_CRM, False),
        ("CUSTOMER STATISTICS", TO_CRM, True),
    ],
)
def test_table_direction_and_only_coupled_follow_bc(
    registry: Registry, name: str, direction: SyncDirection, only_coupled: bool
) -> None:
    mapping = registry.get(name)
    assert (mapping.direction, mapping.only_coupled) == (direction, only_coupled)


def test_posted_invoices_flow_from_bc_to_sales_in_every_field(registry: Registry) -> None:
    for name in ("POSTEDSALESINV-INV", "POSTEDSALESLINE-INV"):
        assert {f.direction for f in registry.get(name).fields} == {TO_CRM}


def test_salespeople_come_from_enabled_licensed_human_users_only(registry: Registry) -> None:
    salespeople = registry.get("SALESPEOPLE")
    assert salespeople.bc_table == "Salesperson/Purchaser"
    assert salespeople.crm_entity == "systemuser"
    assert salespeople.integration_table_filter == (
        "isdisabled eq false and islicensed eq true and isintegrationuser eq false"
    )
    assert salespeople.ownership_model is OwnershipModel.PERSON
    assert {f.direction for f in salespeople.fields} == {FROM_CRM}
    assert field(salespeople, "mobilephone").bc_caption == "Phone No."


def test_customer_maps_address_2_both_ways(registry: Registry) -> None:
    address_2 = field(registry.get("CUSTOMER"), "address1_line2")
    assert (address_2.bc_caption, address_2.bc_field, address_2.direction) == (
        "Address 2",
        "addressLine2",
        BOTH,
    )


def test_customer_owner_is_looked_up_through_salespeople_and_never_blanked(registry: Registry) -> None:
    customer = registry.get("CUSTOMER")
    owner = field(customer, "ownerid")
    assert owner.bc_caption == "Salesperson Code"
    assert owner.lookup is not None and owner.lookup.mapping == "SALESPEOPLE"
    assert owner.direction is TO_CRM and owner.not_null
    assert owner.ownership_model is OwnershipModel.PERSON
    owner_type = field(customer, "owneridtype")
    assert owner_type.is_constant and owner_type.constant == "systemuser"
    assert owner_type.ownership_model is OwnershipModel.PERSON


def test_customer_currency_is_looked_up_through_currency_with_blank_meaning_lcy(registry: Registry) -> None:
    currency = field(registry.get("CUSTOMER"), "transactioncurrencyid")
    assert currency.bc_caption == "Currency Code" and currency.direction is BOTH
    assert currency.lookup is not None
    assert (currency.lookup.mapping, currency.lookup.blank_means_lcy) == ("CURRENCY", True)


def test_customer_primary_contact_is_cleared_when_the_contact_is_not_coupled(registry: Registry) -> None:
    customer = registry.get("CUSTOMER")
    primary_contact = field(customer, "primarycontactid")
    assert primary_contact.lookup is not None and primary_contact.lookup.mapping == "CONTACT"
    assert primary_contact.clear_on_failed_sync
    assert [f.bc_caption for f in customer.fields if f.clear_on_failed_sync] == ["Primary Contact No."]


def test_customer_option_fields_translate_through_option_mappings(registry: Registry) -> None:
    customer = registry.get("CUSTOMER")
    options = {f.crm_field: f.option_mapping for f in customer.fields if f.option_mapping}
    assert options == {
        "address1_freighttermscode": "SHIPMENT METHOD",
        "address1_shippingmethodcode": "SHIPPING AGENT",
        "paymenttermscode": "PAYMENT TERMS",
    }
    for name in options.values():
        assert registry.option_mapping(name).crm_entity == "account"


def test_customer_credit_limit_goes_to_sales_only(registry: Registry) -> None:
    assert field(registry.get("CUSTOMER"), "creditlimit").direction is TO_CRM


def test_customer_filters_keep_unblocked_customers_and_active_customer_accounts(registry: Registry) -> None:
    customer = registry.get("CUSTOMER")
    assert customer.table_filter == "blocked eq ' '"
    assert customer.integration_table_filter == "statecode eq 0 and customertypecode eq 3"
    assert customer.company_filter
    assert customer.dependencies == ("SALESPEOPLE", "CURRENCY")


def test_customer_fields_missing_from_the_standard_api_come_from_the_custom_route(registry: Registry) -> None:
    customer = registry.get("CUSTOMER")
    assert customer.bc_extension_endpoint is not None
    assert customer.bc_extension_endpoint.api is BcApi.CUSTOM
    custom = {f.bc_field for f in customer.fields if f.bc_api is BcApi.CUSTOM}
    assert custom == {
        "contact",
        "faxNo",
        "primaryContactNo",
        "shipmentMethodCode",
        "shippingAgentCode",
        "paymentTermsCode",
    }


def test_contact_type_is_a_constant_person_from_sales_and_parent_type_a_constant_account(
    registry: Registry,
) -> None:
    contact = registry.get("CONTACT")
    contact_type = next(f for f in contact.fields if f.bc_caption == "Type")
    assert (contact_type.constant, contact_type.direction, contact_type.crm_field) == (
        "Person",
        FROM_CRM,
        None,
    )
    parent_type = field(contact, "parentcustomeridtype")
    assert (parent_type.constant, parent_type.direction) == ("account", TO_CRM)
    assert contact.table_filter == "type eq 'Person' and companyNumber ne ''"
    assert contact.dependencies == ("CUSTOMER",)


def test_currency_is_coupled_on_its_code_and_synchronized_right_after(registry: Registry) -> None:
    currency = registry.get("CURRENCY")
    [group] = currency.match_groups()
    assert [(f.bc_caption, f.crm_field) for f in group] == [("Code", "isocurrencycode")]
    assert not group[0].match.case_sensitive
    assert currency.coupling.synch_after_bulk_coupling


def test_only_currency_synchronizes_pairs_right_after_match_based_coupling(registry: Registry) -> None:
    assert [m.name for m in registry.mappings if m.coupling.synch_after_bulk_coupling] == ["CURRENCY"]


def test_item_product_maps_unit_cost_twice_and_base_unit_through_unit_of_measure(registry: Registry) -> None:
    item = registry.get("ITEM-PRODUCT")
    assert [f.crm_field for f in item.fields if f.bc_caption == "Unit Cost"] == [
        "standardcost",
        "currentcost",
    ]
    base_unit = field(item, "defaultuomscheduleid")
    assert base_unit.lookup is not None and base_unit.lookup.mapping == "UNITOFMEASURE"
    assert base_unit.direction is BOTH
    assert item.table_filter == "blocked eq false"
    assert item.integration_table_filter == "producttypecode eq 1 and statecode eq 0"


def test_resource_products_are_services_from_the_custom_route(registry: Registry) -> None:
    resource = registry.get("RESOURCE-PRODUCT")
    assert resource.bc_endpoint.api is BcApi.CUSTOM
    assert resource.integration_table_filter == "producttypecode eq 3 and statecode eq 0"
    assert field(resource, "quantityonhand").bc_caption == "Capacity"


def test_sales_prices_keep_bc_name_as_alias_and_use_a_currency_amount_constant(registry: Registry) -> None:
    prices = registry.get("SALESPRC-PRODPRICE")
    assert prices.name == "SALESPRC-PRODUCTPRICE"
    assert prices.table_filter == "salesType eq 'Customer Price Group' and salesCode ne ''"
    assert field(prices, "pricingmethodcode").constant == 1
    assert field(prices, "pricelevelid").lookup.mapping == "CUSTPRCGRP-PRICE"
    assert field(prices, "productid").lookup.mapping == "ITEM-PRODUCT"
    assert prices.dependencies == ("CUSTPRCGRP-PRICE", "ITEM-PRODUCT")


def test_unit_of_measure_keeps_bc_name_as_alias(registry: Registry) -> None:
    assert registry.get("UNIT OF MEASURE").name == "UNITOFMEASURE"


def test_posted_invoice_option_fields_and_work_description(registry: Registry) -> None:
    invoice = registry.get("POSTEDSALESINV-INV")
    assert field(invoice, "shippingmethodcode").option_mapping == "SHIPPING AGENT"
    assert field(invoice, "paymenttermscode").option_mapping == "PAYMENT TERMS"
    assert field(invoice, "description").bc_caption == "Work Description"
    line_override = field(registry.get("POSTEDSALESLINE-INV"), "ispriceoverridden")
    assert line_override.is_constant and line_override.constant is True


def test_customer_statistics_job_writes_lcy_figures_to_account_statistics(registry: Registry) -> None:
    statistics = registry.get("CUSTOMER STATISTICS")
    assert statistics.enabled and statistics.dag_id == "bcsync_customer_statistics"
    # The customers coupled in CUSTOMER, each account's statistics row through its lookup.
    assert statistics.linked_to.mapping == "CUSTOMER"
    assert statistics.linked_to.crm_lookup == "nav_accountstatisticsid"
    assert statistics.bc_modified_field == "lastActivityDateTime"
    assert statistics.crm_entity == "nav_accountstatistics"
    assert field(statistics, "nav_balancelcy").bc_caption == "Balance (LCY)"
    currency = field(statistics, "transactioncurrencyid")
    assert currency.constant == "" and currency.lookup.blank_means_lcy
    assert statistics.schedule.every == timedelta(minutes=30)
    assert statistics.schedule.max_attempts == 2


@pytest.mark.parametrize(
    "name",
    [
        "SALESPEOPLE",
        "CUSTOMER",
        "CONTACT",
        "CURRENCY",
        "UNITOFMEASURE",
        "ITEM-PRODUCT",
        "RESOURCE-PRODUCT",
        "CUSTPRCGRP-PRICE",
        "SALESPRC-PRODUCTPRICE",
        "POSTEDSALESINV-INV",
    ],
)
def test_jobs_recur_every_30_minutes_with_bc_job_queue_retries(registry: Registry, name: str) -> None:
    # BC's inactivity timeouts (720 / 1440 minutes) are not carried: see docs/mappings.md.
    schedule = registry.get(name).schedule
    assert schedule is not None
    assert schedule.every == timedelta(minutes=30)
    assert (schedule.max_attempts, schedule.rerun_delay) == (10, timedelta(seconds=30))


def test_conflict_resolution_defaults_to_none_everywhere(registry: Registry) -> None:
    for mapping in registry.mappings:
        assert mapping.update_conflict_resolution is UpdateConflictResolution.NONE
        assert mapping.deletion_conflict_resolution is DeletionConflictResolution.NONE


def test_full_synchronization_runs_in_dependency_waves(registry: Registry) -> None:
    waves = [sorted(m.name for m in wave) for wave in registry.dependency_waves()]
    assert waves == [
        ["CURRENCY", "SALESPEOPLE", "UNITOFMEASURE"],
        ["CUSTOMER", "ITEM-PRODUCT", "RESOURCE-PRODUCT"],
        ["CONTACT", "CUSTPRCGRP-PRICE", "POSTEDSALESINV-INV"],
        ["CUSTOMER STATISTICS", "SALESPRC-PRODUCTPRICE"],
    ]


def test_mappings_are_ordered_so_dependencies_come_first(registry: Registry) -> None:
    position = {m.name: i for i, m in enumerate(registry.mappings)}
    for mapping in registry.mappings:
        assert all(position[d] < position[mapping.name] for d in mapping.dependencies)


def test_lookup_by_dag_id(registry: Registry) -> None:
    assert registry.by_dag_id("bcsync_item_product").name == "ITEM-PRODUCT"
    with pytest.raises(KeyError, match="bcsync_vendor"):
        registry.by_dag_id("bcsync_vendor")
