"""Session fixture: the real Airflow (api-server, scheduler, dag-processor) on a fresh sandbox.

See e2e_stack.py for what is started and how it is stopped; the phase timings are printed in pytest's
terminal summary (section "e2e timings").
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_stack import E2E_TIMINGS, AirflowStack
from e2e_stack import airflow_stack as start_airflow_stack

# Jobs the operations tests run; start-up waits until the DAG processor has serialized them.
OPERATIONS_DAG_IDS = (
    "bcsync_currency",
    "bcsync_salespeople",
    "bcsync_contact",
    "bcsync_customer",
    "bcsync_customer_statistics",
    "bcsync_full_sync",
)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (a CI timeout, `kill`) ends the session as Ctrl-C does: the fixtures' teardown stops
    the Airflow processes instead of leaving them running."""
    signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(scope="session")
def airflow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    """Runs only when a test triggers or backfills them (no job schedule)."""
    with start_airflow_stack(tmp_path_factory.mktemp("e2e"), OPERATIONS_DAG_IDS) as stack:
        yield stack


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not E2E_TIMINGS:
        return
    terminalreporter.section("e2e timings")
    for phase, seconds in E2E_TIMINGS:
        terminalreporter.write_line(f"{seconds:7.1f}s  {phase}")
