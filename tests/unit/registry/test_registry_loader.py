"""Loading is cached by directory and file mtimes (DAG parse time), and the directory is configurable."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bcsync.registry import RegistryError, load_registry, loader, mappings_directory
from bcsync.registry.loader import CHECKOUT_DIRECTORY, ENV_DIRECTORY

WriteMappings = Callable[..., Path]


@pytest.fixture
def no_configured_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Neither $BCSYNC_MAPPINGS_DIR nor an Astro project: Airflow's dags folder is an empty tmp folder."""
    monkeypatch.delenv(ENV_DIRECTORY, raising=False)
    dags = tmp_path / "airflow" / "dags"
    dags.mkdir(parents=True)
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags))
    return dags


def test_default_directory_is_include_mappings_of_the_checkout(no_configured_directory: Path) -> None:
    assert CHECKOUT_DIRECTORY is not None  # the tests run from the checkout
    assert mappings_directory() == CHECKOUT_DIRECTORY.resolve()
    assert CHECKOUT_DIRECTORY.parts[-2:] == ("include", "mappings")


def test_include_mappings_beside_airflows_dags_folder_comes_before_the_checkout(
    no_configured_directory: Path, write_mappings: WriteMappings, small_mappings
) -> None:
    """The Astro project layout: <project>/dags and <project>/include/mappings, bcsync pip-installed."""
    project = no_configured_directory.parent
    (project / "include").mkdir()
    write_mappings(small_mappings).rename(project / "include" / "mappings")
    assert mappings_directory() == (project / "include" / "mappings").resolve()
    assert [m.name for m in load_registry().mappings] == ["CURRENCY", "CUSTOMER"]


def test_without_any_mappings_directory_the_error_lists_the_places_looked_at(
    no_configured_directory: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(loader, "CHECKOUT_DIRECTORY", tmp_path / "site-packages" / "include" / "mappings")
    with pytest.raises(RegistryError) as raised:
        load_registry()
    [problem] = raised.value.problems
    assert str(problem) == (
        "the mappings directory: not found; looked at "
        f"{no_configured_directory.parent / 'include' / 'mappings'} (beside Airflow's dags folder); "
        f"{tmp_path / 'site-packages' / 'include' / 'mappings'} (in the bcsync checkout)"
    )


def test_installed_outside_a_checkout_only_the_airflow_project_is_looked_at(
    no_configured_directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "CHECKOUT_DIRECTORY", None)  # as from a wheel: no checkout around it
    with pytest.raises(RegistryError) as raised:
        mappings_directory()
    assert str(raised.value.problems[0]) == (
        "the mappings directory: not found; looked at "
        f"{no_configured_directory.parent / 'include' / 'mappings'} (beside Airflow's dags folder)"
    )


def test_a_missing_environment_directory_is_not_replaced_by_another(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_DIRECTORY, str(tmp_path / "nowhere"))
    with pytest.raises(RegistryError, match=r"looked at .*nowhere \(\$BCSYNC_MAPPINGS_DIR\)$"):
        mappings_directory()


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
