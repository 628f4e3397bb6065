"""Job leases on PostgreSQL: one run holds a mapping, its own tasks re-enter, racing runs get one winner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lease_race import race_for_lease
from sqlalchemy.engine import URL

from bcsync.store import CouplingStore, LeaseHeldError

pytestmark = pytest.mark.postgres

RUN_A = "bcsync_customer run manual__a"
RUN_B = "bcsync_customer run manual__b"
NO_WAIT = timedelta(0)


def test_a_run_holds_re_enters_and_releases_while_another_is_refused(store: CouplingStore, clock) -> None:
    first = store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT)
    clock.advance(30)
    assert store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT).acquired_on == first.acquired_on

    with pytest.raises(
        LeaseHeldError, match="CUSTOMER is being synchronized by bcsync_customer run manual__a"
    ):
        store.acquire_lease("CUSTOMER", RUN_B, wait=NO_WAIT)

    assert store.release_lease("CUSTOMER", RUN_A)
    assert store.acquire_lease("CUSTOMER", RUN_B, wait=NO_WAIT).holder == RUN_B


def test_an_expired_lease_is_taken_over(store: CouplingStore, clock) -> None:
    store.acquire_lease("CUSTOMER", RUN_A, wait=NO_WAIT, ttl=timedelta(minutes=10))
    clock.advance(10 * 60 + 1)

    lease = store.acquire_lease("CUSTOMER", RUN_B, wait=NO_WAIT)

    assert (lease.holder, lease.previous) == (RUN_B, RUN_A)
    assert not store.renew_lease("CUSTOMER", RUN_A)  # the crashed run's heartbeat finds it gone


@pytest.mark.parametrize("held_before", [None, "expired"])
def test_runs_racing_for_the_lease_have_exactly_one_winner(
    postgres_url: URL, clock, held_before: str | None
) -> None:
    stores = [CouplingStore(postgres_url, clock=clock) for _ in range(6)]
    if held_before:  # a crashed run's lease: every racer may take it over, only one does
        stores[0].acquire_lease("CUSTOMER", "bcsync_customer run crashed", ttl=timedelta(minutes=10))
        clock.advance(10 * 60 + 1)
    else:
        stores[0].lease("CUSTOMER")  # migrate once, before the race
    winners, told = race_for_lease(stores)

    assert len(winners) == 1
    assert told == winners * (len(stores) - 1)
