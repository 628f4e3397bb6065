"""Modified-on watermarks per mapping and direction: only forward, capped by the caller, cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bcsync.store import CouplingStore, Direction, StoreInputError

TO_CRM, FROM_CRM = Direction.TO_CRM, Direction.FROM_CRM
T0 = datetime(2026, 2, 1, 9, 0, 0, 250000, tzinfo=UTC)


def test_a_mapping_never_synced_has_no_watermark(store: CouplingStore) -> None:
    assert store.get_watermark("CUSTOMER", TO_CRM) is None


def test_advancing_stores_the_value(store: CouplingStore) -> None:
    assert store.advance_watermark("CUSTOMER", TO_CRM, T0) == T0
    assert store.get_watermark("CUSTOMER", TO_CRM) == T0


def test_a_watermark_never_moves_backwards(store: CouplingStore) -> None:
    store.advance_watermark("CUSTOMER", TO_CRM, T0)

    in_force = store.advance_watermark("CUSTOMER", TO_CRM, T0 - timedelta(microseconds=1))

    assert in_force == T0
    assert store.get_watermark("CUSTOMER", TO_CRM) == T0
    assert store.advance_watermark("CUSTOMER", TO_CRM, T0 + timedelta(milliseconds=1)) == T0 + timedelta(
        milliseconds=1
    )


def test_the_value_is_capped_at_the_runs_start(store: CouplingStore) -> None:
    run_start = T0 + timedelta(minutes=1)

    in_force = store.advance_watermark(
        "CUSTOMER", TO_CRM, run_start + timedelta(seconds=30), not_after=run_start
    )

    assert in_force == run_start


def test_each_direction_and_mapping_has_its_own_watermark(store: CouplingStore) -> None:
    store.advance_watermark("CUSTOMER", TO_CRM, T0)
    store.advance_watermark("CUSTOMER", FROM_CRM, T0 - timedelta(hours=1))

    assert store.get_watermark("CUSTOMER", FROM_CRM) == T0 - timedelta(hours=1)
    assert store.get_watermark("CONTACT", TO_CRM) is None
    assert store.watermarks("CUSTOMER")["direction"].tolist() == [
        "FromIntegrationTable",
        "ToIntegrationTable",
    ]


def test_other_time_zones_are_stored_as_the_same_instant_in_utc(store: CouplingStore) -> None:
    berlin = T0.astimezone(timezone(timedelta(hours=1)))

    store.advance_watermark("CUSTOMER", TO_CRM, berlin)

    stored = store.get_watermark("CUSTOMER", TO_CRM)
    assert stored == T0 and stored.tzinfo == UTC


def test_a_full_synchronization_clears_both_watermarks(store: CouplingStore) -> None:
    store.advance_watermark("CUSTOMER", TO_CRM, T0)
    store.advance_watermark("CUSTOMER", FROM_CRM, T0)

    assert store.clear_watermarks("CUSTOMER") == 2

    assert store.get_watermark("CUSTOMER", TO_CRM) is None
    store.advance_watermark("CUSTOMER", TO_CRM, T0 - timedelta(days=1))
    assert store.get_watermark("CUSTOMER", TO_CRM) == T0 - timedelta(days=1)


def test_a_naive_timestamp_is_refused(store: CouplingStore) -> None:
    with pytest.raises(StoreInputError, match="timezone-aware"):
        store.advance_watermark("CUSTOMER", TO_CRM, datetime(2026, 1, 1))
