"""`make demo` prints the job log of every job it ran, whichever jobs the registry has DAGs for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bcsync.registry import load_registry
from bcsync.store.store import CouplingStore
from bcsync_dev import demo


def test_job_log_lists_every_job_in_the_order_given_to_before_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "WORK", tmp_path)
    since = datetime.now(UTC) - timedelta(seconds=1)
    store = CouplingStore(f"sqlite:///{tmp_path / 'store.db'}")
    rows = [
        ("CUSTOMER", "FromIntegrationTable", 2),
        ("POSTEDSALESINV-INV", "ToIntegrationTable", 5),
        ("CUSTOMER", "ToIntegrationTable", 3),
        ("SALESPEOPLE", "FromIntegrationTable", 1),
    ]
    for mapping, direction, inserted in rows:
        store.finish_job(store.start_job(mapping, direction), {"Inserted": inserted})
    store.dispose()

    demo._print_job_log(since, ["SALESPEOPLE", "CUSTOMER", "POSTEDSALESINV-INV"])

    lines = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [(line[0], line[1], line[2]) for line in lines] == [
        ("SALESPEOPLE", "FromIntegrationTable", "1"),
        ("CUSTOMER", "ToIntegrationTable", "3"),
        ("CUSTOMER", "FromIntegrationTable", "2"),
        ("POSTEDSALESINV-INV", "ToIntegrationTable", "5"),
    ]


def test_the_demo_runs_the_registrys_enabled_jobs_dependencies_first() -> None:
    registry = load_registry()
    enabled = registry.enabled_jobs
    assert {m.name for m in enabled} >= {"SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT"}
    assert all(m.enabled and not m.is_child for m in enabled)
    names = [m.name for m in enabled]
    for mapping in enabled:
        assert all(names.index(d) < names.index(mapping.name) for d in mapping.dependencies if d in names)
