"""A broken mapping makes its own DAG an import error of dags/bcsync_mapping_errors.py; the working jobs'
DAGs in dags/bcsync_jobs.py load.

Airflow's DagBag validates each DAG before bagging it and records a failing one as the file's import
error (`DagBag.process_file`); the broken mapping's stand-in DAG fails there. The DAG processor marks
every DAG of a file with an import error stale, so the stand-ins live in a file of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

from bcsync.actions.catalog import ACTION_DAG_IDS

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
ERRORS_FILE = DAGS / "bcsync_mapping_errors.py"
PRODUCT_JOBS = {"bcsync_unitofmeasure", "bcsync_item_product", "bcsync_resource_product"}
PRICE_JOBS = {"bcsync_custprcgrp_price", "bcsync_salesprc_productprice"}
GOOD_JOBS = {"bcsync_salespeople", "bcsync_currency", "bcsync_customer", "bcsync_contact", *PRODUCT_JOBS}
GOOD_JOBS |= {*PRICE_JOBS, "bcsync_postedsalesinv_inv", "bcsync_customer_statistics"}


@pytest.fixture
def parse_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit_mappings: Callable[..., Path]
) -> Callable[..., DagBag]:
    """Parse the dags/ folder over a copy of include/mappings: mapping edits ({name: edit}) and
    files replaced by raw text ({file name: text})."""

    def parse(
        edits: dict[str, Callable[[dict[str, Any]], None]], files: dict[str, str] | None = None
    ) -> DagBag:
        directory = edit_mappings(tmp_path / "mappings", edits)
        for name, text in (files or {}).items():
            (directory / name).write_text(text, encoding="utf-8")
        monkeypatch.setenv("BCSYNC_MAPPINGS_DIR", str(directory))
        return DagBag(dag_folder=str(DAGS))

    return parse


def misspell_contact_direction(mapping: dict[str, Any]) -> None:
    next(f for f in mapping["fields"] if f.get("bc_caption") == "E-Mail")["direction"] = "Sideways"


def the_import_error(bag: DagBag) -> str:
    [(path, message)] = bag.import_errors.items()
    assert path == str(ERRORS_FILE)
    return message


def test_a_broken_mapping_is_an_import_error_naming_dag_file_mapping_and_field(parse_with):
    bag = parse_with({"CONTACT": misspell_contact_direction})

    # CUSTOMER looks its primary contact up through CONTACT's couplings, so it cannot run either, nor
    # CUSTOMER STATISTICS, whose records are CUSTOMER's, nor POSTEDSALESINV-INV, whose customers are.
    unaffected = {"bcsync_salespeople", "bcsync_currency", "bcsync_full_sync", *PRODUCT_JOBS, *PRICE_JOBS}
    assert set(bag.dag_ids) == unaffected | ACTION_DAG_IDS
    message = the_import_error(bag)
    first, *problems = message.splitlines()
    assert first == (
        "BrokenMappingError: 4 bcsync DAGs not loaded because their mappings are broken "
        "(bcsync_contact, bcsync_customer, bcsync_customer_statistics, bcsync_postedsalesinv_inv); "
        "`bin/bcsync mappings validate` checks the fix:"
    )
    contact, customer, statistics, invoices = problems
    assert "mapping CUSTOMER STATISTICS: dependency 'CUSTOMER' is broken (" in statistics
    assert "mapping POSTEDSALESINV-INV: dependency 'CUSTOMER' is broken (" in invoices
    assert contact.startswith("bcsync_contact: /")
    assert contact.endswith(
        "/contact.yaml: mapping CONTACT: field 'E-Mail' (bc_field email): direction: Input should be "
        "'Bidirectional', 'ToIntegrationTable' or 'FromIntegrationTable' (got 'Sideways')"
    )
    assert customer.startswith("bcsync_customer: /")
    assert "/customer.yaml: mapping CUSTOMER: field 'Primary Contact No.' (bc_field primaryContactNo): " in (
        customer
    )
    assert "lookup: mapping 'CONTACT' is broken (/" in customer


def test_the_full_synchronization_runs_the_jobs_whose_mappings_load(parse_with):
    bag = parse_with({"CONTACT": misspell_contact_direction})

    full_sync = bag.dags["bcsync_full_sync"]
    assert {t.trigger_dag_id for t in full_sync.tasks} == {
        "bcsync_salespeople",
        "bcsync_currency",
        *PRODUCT_JOBS,
        *PRICE_JOBS,
    }


def test_jobs_depending_on_an_unreadable_file_are_import_errors_too(parse_with):
    bag = parse_with({}, files={"currency.yaml": "mappings:\n  - name: CURRENCY\n    fields: [\n"})

    assert set(bag.dag_ids) == {"bcsync_salespeople", "bcsync_full_sync", *PRODUCT_JOBS} | ACTION_DAG_IDS
    message = the_import_error(bag)
    jobs = (
        "(bcsync_contact, bcsync_currency, bcsync_customer, bcsync_customer_statistics, "
        "bcsync_custprcgrp_price, bcsync_postedsalesinv_inv, bcsync_salesprc_productprice)"
    )
    assert jobs in message.splitlines()[0]
    assert "\nbcsync_currency: " in message and "/currency.yaml: invalid YAML: line 4" in message
    assert (
        "bcsync_customer: " in message
        and "mapping CUSTOMER: dependency 'CURRENCY' is broken (" in message
        and "), so this mapping cannot run either" in message
    )


def test_a_broken_mapping_without_a_dag_adds_no_import_error(parse_with):
    """A disabled SALESPRC-PRODUCTPRICE, which no job depends on, has no DAG to stand in for (validate
    reports it)."""

    def break_prices(mapping: dict[str, Any]) -> None:
        mapping["enabled"] = False
        del mapping["crm_key"]

    bag = parse_with({"SALESPRC-PRODUCTPRICE": break_prices})

    assert bag.import_errors == {}
    expected = GOOD_JOBS - {"bcsync_salesprc_productprice"} | {"bcsync_full_sync"}
    assert set(bag.dag_ids) == expected | ACTION_DAG_IDS
