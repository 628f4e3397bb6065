"""Loading is cached by directory and file mtimes (DAG parse time), and the directory is configurable."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bcsync.registry import load_registry, mappings_directory
from bcsync.registry.loader import DEFAULT_DIRECTORY, ENV_DIRECTORY

WriteMappings = Callable[..., Path]


def test_default_directory_is_include_mappings_of_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_DIRECTORY, raising=False)
    assert mappings_directory() == DEFAULT_DIRECTORY.resolve()
    assert DEFAULT_DIRECTORY.parts[-2:] == ("include", "mappings")


def test_environment_variable_overrides_the_directory(
    monkeypatch: pytest.MonkeyPatch, write_mappings: WriteMappings, small_mappings
) -> None:
    directory = write_mappings(small_mappings)
    monkeypatch.setenv(ENV_DIRECTORY, str(directory))
    assert [m.name for m in load_registry().mappings] == ["CURRENCY", "CUSTOMER"]


def test_unchanged_files_return_the_cached_registry(write_mappings: WriteMappings, small_mappings) -> None:
    directory = write_mappings(small_mappings)
    assert load_registry(directory) is load_registry(directory)


def test_a_changed_file_is_read_again(write_mappings: WriteMappings, small_mappings) -> None:
    directory = write_mappings(small_mappings)
    first = load_registry(directory)
    small_mappings["currency.yaml"]["mappings"][0]["description"] = "Currencies, edited"
    path = directory / "currency.yaml"
    path.write_text(yaml.safe_dump(small_mappings["currency.yaml"], sort_keys=False), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # coarse clocks: force a new mtime
    second = load_registry(directory)
    assert second is not first
    assert second.get("CURRENCY").description == "Currencies, edited"


def test_an_added_file_is_picked_up(write_mappings: WriteMappings, small_mappings) -> None:
    currency_only = write_mappings({"currency.yaml": small_mappings["currency.yaml"]})
    assert [m.name for m in load_registry(currency_only).mappings] == ["CURRENCY"]
    (currency_only / "customer.yaml").write_text(
        yaml.safe_dump(small_mappings["customer.yaml"]), encoding="utf-8"
    )
    assert [m.name for m in load_registry(currency_only).mappings] == ["CURRENCY", "CUSTOMER"]


def test_mappings_are_frozen(write_mappings: WriteMappings, small_mappings) -> None:
    mapping = load_registry(write_mappings(small_mappings)).get("CUSTOMER")
    with pytest.raises(ValueError, match="frozen"):
        mapping.direction = "ToIntegrationTable"  # type: ignore[misc]


def test_get_names_the_known_mappings_when_the_name_is_unknown(
    write_mappings: WriteMappings, small_mappings
) -> None:
    registry = load_registry(write_mappings(small_mappings))
    with pytest.raises(KeyError, match="no mapping named 'VENDOR'; known: CURRENCY, CUSTOMER"):
        registry.get("VENDOR")
