"""Job leases: one run at a time synchronizes a mapping; its own tasks re-enter, others wait or stop."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from lease_race import race_for_lease

from bcsync.store import CouplingStore, LeaseHeldError

RUN_A = "bcsync_customer run manual__a"
RUN_B = "bcsync_customer run manual__b"
NO_WAIT = timedelta(0)


def test_a_free_lease_is_taken_and_stored(store: CouplingStore, clock) -> None:
    lease = store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT, ttl=timedelta(minutes=10))

    assert (lease.holder, lease.reentered, lease.previous) == (RUN_A, False, None)
    assert lease.acquired_on == clock.now
    assert lease.expires_on == clock.now + timedelta(minutes=10)
    assert store.lease("CUSTOMER") == lease


def test_the_same_run_re_enters_and_keeps_the_time_it_first_took_it(store: CouplingStore, clock) -> None:
    first = store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)
    clock.advance(60)

    again = store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)

    assert again.reentered
    assert again.acquired_on == first.acquired_on
    assert again.expires_on == first.expires_on + timedelta(seconds=60)


def test_another_run_is_refused_with_a_message_naming_the_holder(store: CouplingStore, clock) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)

    with pytest.raises(LeaseHeldError) as refused:
        store.acquire_lease("CUSTOMER", RUN_B, wait=NO_WAIT)

    assert str(refused.value).startswith(
        "CUSTOMER is being synchronized by bcsync_customer run manual__a since 2026-03-01 08:00:00 UTC; "
        "this run (bcsync_customer run manual__b) stops so no record is written twice"
    )
    assert refused.value.lease.holder == RUN_A
    assert store.lease("CUSTOMER").holder == RUN_A


def test_leases_of_other_mappings_are_independent(store: CouplingStore) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)

    assert store.acquire_lease("CONTACT", RUN_B, wait=NO_WAIT).holder == RUN_B


def test_an_expired_lease_is_taken_over_with_a_warning(
    store: CouplingStore, clock, caplog: pytest.LogCaptureFixture
) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT, ttl=timedelta(minutes=10))
    clock.advance(10 * 60 + 1)

    lease = store.acquire_lease("CUSTOMER", RUN_B, wait=NO_WAIT)

    assert (lease.holder, lease.previous, lease.acquired_on) == (RUN_B, RUN_A, clock.now)
    assert "took over the lease of bcsync_customer run manual__a" in caplog.text


def test_a_lease_renewed_in_time_is_not_taken_over(store: CouplingStore, clock) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT, ttl=timedelta(minutes=10))
    clock.advance(9 * 60)
    assert store.renew_lease("CUSTOMER", RUN_A, ttl=timedelta(minutes=10))
    clock.advance(9 * 60)

    with pytest.raises(LeaseHeldError):
        store.acquire_lease("CUSTOMER", RUN_B, wait=NO_WAIT)


def test_release_frees_the_lease_and_leaves_another_holders_alone(store: CouplingStore) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)

    assert not store.release_lease("CUSTOMER", RUN_B)
    assert store.lease("CUSTOMER").holder == RUN_A
    assert store.release_lease("CUSTOMER", RUN_A)
    assert store.lease("CUSTOMER") is None
    assert store.acquire_lease("CUSTOMER", RUN_B, wait=NO_WAIT).holder == RUN_B


def test_a_waiting_run_goes_ahead_once_the_holder_releases(store: CouplingStore) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)
    releaser = threading.Timer(0.3, store.release_lease, args=("CUSTOMER", RUN_A))
    releaser.start()

    lease = store.acquire_lease("CUSTOMER", RUN_B, wait=timedelta(seconds=10), poll_seconds=0.05)

    releaser.join()
    assert lease.holder == RUN_B


def test_a_waiting_run_stops_after_the_bounded_wait(store: CouplingStore) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)
    started = time.monotonic()

    with pytest.raises(LeaseHeldError, match=r"waited 0 s"):
        store.acquire_lease("CUSTOMER", RUN_B, wait=timedelta(seconds=0.3), poll_seconds=0.05)

    assert 0.3 <= time.monotonic() - started < 5


def test_the_wait_comes_from_the_environment(store: CouplingStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)
    monkeypatch.setenv("BCSYNC_LEASE_WAIT_SECONDS", "0")

    with pytest.raises(LeaseHeldError):
        store.acquire_lease("CUSTOMER", RUN_B)


def test_the_first_step_keeps_the_lease_for_the_steps_after_it(store: CouplingStore) -> None:
    with store.holding_lease("CUSTOMER", RUN_A, first_step=True) as lease:
        assert not lease.reentered

    assert store.lease("CUSTOMER").holder == RUN_A


def test_a_later_step_keeps_a_re_entered_lease_and_gives_back_one_it_took_afresh(
    store: CouplingStore,
) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)
    with store.holding_lease("CUSTOMER", RUN_A, first_step=False) as lease:
        assert lease.reentered
    assert store.lease("CUSTOMER").holder == RUN_A  # kept for the run's next step

    store.release_lease("CUSTOMER", RUN_A)  # the run recorded its job
    with store.holding_lease("CUSTOMER", RUN_A, first_step=False) as lease:  # a task cleared later
        assert not lease.reentered
    assert store.lease("CUSTOMER") is None


def test_holding_a_lease_renews_it_while_the_block_runs(store_url: str) -> None:
    store = CouplingStore(store_url)
    try:
        with store.holding_lease("CUSTOMER", RUN_A, first_step=False, ttl=timedelta(seconds=0.6)) as lease:
            time.sleep(0.9)
            renewed = store.lease("CUSTOMER")
            assert renewed.holder == RUN_A
            assert renewed.expires_on > lease.expires_on
    finally:
        store.dispose()


def test_of_two_runs_racing_for_a_free_lease_exactly_one_wins(store_url: str) -> None:
    stores = [CouplingStore(store_url) for _ in range(6)]
    stores[0].lease("CUSTOMER")  # migrate once, before the race
    winners, refused = race_for_lease(stores)

    assert len(winners) == 1
    assert refused == winners * (len(stores) - 1)  # every loser was told who won
