"""Shared fixtures: one sandbox subprocess per test session, tokens for it, CA-trusting sessions, and
edited copies of the mappings."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from sandbox.launcher import RunningSandbox, running_sandbox

SessionFactory = Callable[..., requests.Session]
MappingEdit = Callable[[dict[str, Any]], None]
EditMappings = Callable[[Path, Mapping[str, MappingEdit]], Path]
TESTS = Path(__file__).resolve().parent
MAPPINGS = TESTS.parent / "include" / "mappings"
# The folders under tests/ are the tiers, and each is a marker (pyproject.toml): `pytest -m unit`.
TIERS = ("unit", "integration", "dags", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test with its tier, the folder under tests/ it is in."""
    for item in items:
        if item.path.is_relative_to(TESTS) and (tier := item.path.relative_to(TESTS).parts[0]) in TIERS:
            item.add_marker(tier)


def _edit_mappings(folder: Path, edits: Mapping[str, MappingEdit]) -> Path:
    """Copy include/mappings to `folder` (once), then change each named mapping's YAML in place, as a
    user edits the file; returns the folder, for BCSYNC_MAPPINGS_DIR."""
    if not folder.exists():
        shutil.copytree(MAPPINGS, folder)
    pending = dict(edits)
    for path in sorted(folder.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        edited = [m for m in document.get("mappings") or [] if m.get("name") in pending]
        for mapping in edited:
            pending.pop(mapping["name"])(mapping)
        if edited:
            path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    if pending:
        raise AssertionError(f"no mapping named {', '.join(pending)} in {folder}")
    return folder


@pytest.fixture(scope="session")
def edit_mappings() -> EditMappings:
    """`edit_mappings(folder, {"CUSTOMER": lambda mapping: ...})`: see `_edit_mappings`."""
    return _edit_mappings


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The three local services on free ports, with a small seed, for the whole test session."""
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), seed_customers=20) as running:
        yield running


@pytest.fixture(scope="session")
def dataverse_token(sandbox: RunningSandbox) -> str:
    return sandbox.token(sandbox.dataverse_scope)


@pytest.fixture(scope="session")
def bc_token(sandbox: RunningSandbox) -> str:
    return sandbox.token(sandbox.bc_scope)


@pytest.fixture
def new_session() -> Iterator[SessionFactory]:
    """`new_session(ca_file, token=None)`: a `requests.Session` trusting the CA, closed after the test.

    `trust_env` is off so a REQUESTS_CA_BUNDLE in the environment cannot override the CA.
    """
    sessions: list[requests.Session] = []

    def make(ca_file: object, token: str | None = None) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(ca_file)
        if token is not None:
            session.headers["Authorization"] = f"Bearer {token}"
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
