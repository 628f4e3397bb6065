"""Two runs of the same job at once: the job's lease lets one write, the other waits or stops.

Each run goes through every step (`run_job`, the steps the operators run), in its own thread with its
own Services (store connections, hooks), against one sandbox and one coupling store, as two
schedulers or two `airflow dags test` processes would.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bcsync.engine.model import Side
from bcsync.pipeline import runner
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.runner import run_job
from bcsync.pipeline.services import Services
from bcsync.store import LeaseHeldError

TO_CRM, FROM_CRM = "ToIntegrationTable", "FromIntegrationTable"


def record_counts(harness) -> dict[str, int]:
    return {
        "accounts": sum(len(page) for page in harness.crm.iter_pages("accounts", select=["accountid"])),
        "customers": sum(len(page) for page in harness.bc.iter_pages("customers", select=["id"])),
    }


def run_together(harness, monkeypatch: pytest.MonkeyPatch, job: str, kind: RunKind) -> dict[str, Any]:
    """Start two runs of `job`; both reach their first write (the couple step) at the same moment.

    Returns each run's summary, or the exception that stopped it, by run id.
    """
    arrived = threading.Barrier(2)
    real_couple = runner.couple

    def couple_together(*args, **kwargs):
        arrived.wait(timeout=120)
        return real_couple(*args, **kwargs)

    monkeypatch.setattr(runner, "couple", couple_together)
    dag_id = harness.services.registry.get(job).dag_id
    outcomes: dict[str, Any] = {}

    def one_run(run_id: str) -> None:
        services = Services()
        try:
            outcomes[run_id] = run_job(
                job, RunContext(dag_id, run_id, kind), services, harness.staging
            ).summary()
        except Exception as error:  # the outcome under test
            outcomes[run_id] = error
        finally:
            services.store.dispose()

    threads = [threading.Thread(target=one_run, args=(run_id,)) for run_id in ("run_a", "run_b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(runner, "couple", real_couple)
    return outcomes


def prepare_full_sync(harness) -> dict[str, int]:
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)
    return record_counts(harness)


def test_second_full_sync_started_at_once_stops_with_the_holder_named_and_duplicates_nothing(
    harness, monkeypatch
):
    before = prepare_full_sync(harness)
    monkeypatch.setenv("BCSYNC_LEASE_WAIT_SECONDS", "0")

    outcomes = run_together(harness, monkeypatch, "CUSTOMER", RunKind.FULL)

    stopped = {run_id: o for run_id, o in outcomes.items() if isinstance(o, Exception)}
    completed = {run_id: o for run_id, o in outcomes.items() if not isinstance(o, Exception)}
    assert len(stopped) == len(completed) == 1, outcomes
    (winner, summary), (loser, error) = *completed.items(), *stopped.items()
    assert isinstance(error, LeaseHeldError)
    assert str(error).startswith(f"CUSTOMER is being synchronized by bcsync_customer run {winner} since ")
    assert f"this run (bcsync_customer run {loser}) stops so no record is written twice" in str(error)

    # Exactly what one run creates: the winner's inserts, nothing from the run that stopped.
    inserted = {d: harness.counters(summary, d)["Inserted"] for d in (TO_CRM, FROM_CRM)}
    assert inserted[TO_CRM] > 0 and inserted[FROM_CRM] > 0
    assert record_counts(harness) == {
        "accounts": before["accounts"] + inserted[TO_CRM],
        "customers": before["customers"] + inserted[FROM_CRM],
    }
    jobs = harness.store.jobs("CUSTOMER")
    assert set(jobs["run_id"]) == {winner}  # the stopped run logged no job
    assert harness.store.lease("CUSTOMER") is None  # released when the winner recorded its job

    again = harness.run("CUSTOMER", RunKind.FULL)
    assert harness.counters(again, TO_CRM)["Inserted"] == harness.counters(again, FROM_CRM)["Inserted"] == 0


def test_second_full_sync_that_waits_goes_ahead_after_the_first_and_creates_nothing_again(
    harness, monkeypatch
):
    before = prepare_full_sync(harness)
    monkeypatch.setenv("BCSYNC_LEASE_WAIT_SECONDS", "300")

    outcomes = run_together(harness, monkeypatch, "CUSTOMER", RunKind.FULL)

    assert not [o for o in outcomes.values() if isinstance(o, Exception)], outcomes
    inserted = {
        d: sorted(harness.counters(summary, d)["Inserted"] for summary in outcomes.values())
        for d in (TO_CRM, FROM_CRM)
    }
    # The run that waited found every record coupled by the first one.
    assert inserted[TO_CRM][0] == inserted[FROM_CRM][0] == 0
    assert record_counts(harness) == {
        "accounts": before["accounts"] + inserted[TO_CRM][1],
        "customers": before["customers"] + inserted[FROM_CRM][1],
    }


def test_the_run_holds_the_job_from_its_couple_step_until_its_job_is_recorded(harness, monkeypatch):
    seen: dict[str, Any] = {}

    def noting(step: str, real):
        def wrapper(*args, **kwargs):
            seen[step] = harness.store.lease("CURRENCY")
            return real(*args, **kwargs)

        return wrapper

    for step in ("couple", "transform", "load_partitions", "record_job"):
        monkeypatch.setattr(runner, step, noting(step, getattr(runner, step)))

    harness.run("CURRENCY", RunKind.FULL)

    holder = f"bcsync_currency run {harness.last_runs['CURRENCY'].run_id}"
    assert seen["couple"] is None
    assert seen["transform"].holder == seen["load_partitions"].holder == seen["record_job"].holder == holder
    assert harness.store.lease("CURRENCY") is None


def test_run_stops_before_writing_while_another_run_holds_the_job(harness, monkeypatch):
    monkeypatch.setenv("BCSYNC_LEASE_WAIT_SECONDS", "0")
    harness.store.acquire_lease("CURRENCY", "bcsync_currency run elsewhere")

    with pytest.raises(
        LeaseHeldError, match="CURRENCY is being synchronized by bcsync_currency run elsewhere"
    ):
        harness.run("CURRENCY", RunKind.FULL)

    assert harness.store.couplings("CURRENCY").empty
    assert harness.store.jobs("CURRENCY").empty


def test_dry_run_takes_no_lease_and_is_not_held_up(harness, monkeypatch):
    monkeypatch.setenv("BCSYNC_LEASE_WAIT_SECONDS", "0")
    harness.store.acquire_lease("CURRENCY", "bcsync_currency run elsewhere")

    harness.run("CURRENCY", RunKind.FULL, dry_run=True)

    assert harness.store.lease("CURRENCY").holder == "bcsync_currency run elsewhere"


def test_load_cleared_after_the_run_finished_takes_the_lease_and_gives_it_back(harness, monkeypatch):
    harness.run("CURRENCY", RunKind.FULL)
    assert harness.store.lease("CURRENCY") is None

    harness.retry_load("CURRENCY", Side.CRM)

    assert harness.store.lease("CURRENCY") is None  # the next run is not blocked
