"""Fixtures for the registry tests: the shipped registry, and a small mapping directory to break."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bcsync.registry import Registry, load_registry

WriteMappings = Callable[..., Path]


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry(strict=True)


def _currency() -> dict[str, Any]:
    return {
        "name": "CURRENCY",
        "bc_table": "Currency",
        "bc_endpoint": {"api": "v2.0", "entity_set": "currencies"},
        "crm_entity": "transactioncurrency",
        "crm_entity_set": "transactioncurrencies",
        "crm_key": "transactioncurrencyid",
        "direction": "ToIntegrationTable",
        "schedule": {"every": "30m"},
        "fields": [
            {
                "bc_caption": "Code",
                "bc_field": "code",
                "crm_field": "isocurrencycode",
                "direction": "ToIntegrationTable",
            }
        ],
    }


def _customer() -> dict[str, Any]:
    return {
        "name": "CUSTOMER",
        "bc_table": "Customer",
        "bc_endpoint": {"api": "v2.0", "entity_set": "customers"},
        "crm_entity": "account",
        "crm_entity_set": "accounts",
        "crm_key": "accountid",
        "direction": "Bidirectional",
        "dependencies": ["CURRENCY"],
        "schedule": {"every": "30m"},
        "fields": [
            {
                "bc_caption": "Name",
                "bc_field": "displayName",
                "crm_field": "name",
                "direction": "Bidirectional",
            },
            {
                "bc_caption": "Address 2",
                "bc_field": "addressLine2",
                "crm_field": "address1_line2",
                "direction": "Bidirectional",
            },
            {
                "bc_caption": "Currency Code",
                "bc_field": "currencyCode",
                "crm_field": "transactioncurrencyid",
                "direction": "Bidirectional",
                "lookup": {"mapping": "CURRENCY", "blank_means_lcy": True},
            },
        ],
    }


@pytest.fixture
def small_mappings() -> dict[str, dict[str, Any]]:
    """A valid two-mapping registry as raw YAML data, by file name; tests edit it before writing."""
    return {"currency.yaml": {"mappings": [_currency()]}, "customer.yaml": {"mappings": [_customer()]}}


@pytest.fixture
def write_mappings(tmp_path: Path) -> WriteMappings:
    """Write {file name: YAML data or raw text} into a fresh directory and return the directory."""
    counter = iter(range(1_000_000))

    def write(files: dict[str, Any]) -> Path:
        directory = tmp_path / f"mappings{next(counter)}"
        directory.mkdir()
        for name, content in files.items():
            text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
            (directory / name).write_text(text, encoding="utf-8")
        return directory

    return write
