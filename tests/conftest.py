"""Shared fixtures: one sandbox subprocess per test session, tokens for it, and CA-trusting sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from sandbox.launcher import RunningSandbox, running_sandbox

SessionFactory = Callable[..., requests.Session]


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
