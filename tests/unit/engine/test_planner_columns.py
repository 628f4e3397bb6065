"""The columnar planner decides exactly as the record-by-record planner did, on random frames.

Each case draws a pass (direction, conflict and deletion settings, field rules with lookups, option
maps, constants and truncation), source records, couplings and destination records full of what
trips value comparisons up: blanks as None/NaN/NaT/whitespace/the empty GUID, numbers as text, case
differences, GUIDs in either case, long and non-ASCII text, lookups with missing keys, skipped and
failed-last-time couplings, deleted counterparts and both-sides-modified conflicts. Columns come as
pandas infers them, as plain objects, or through Parquet (Arrow-backed text), as the pipeline reads
them. Plans must be equal frame for frame, dtypes and payload value types included.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from random_columns import as_column
from rowwise_reference import plan_pass_rowwise

from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    DeletionConflictResolution,
    FieldRule,
    LookupTable,
    PassSpec,
    SyncPass,
    UpdateConflictResolution,
)
from bcsync.engine.planner import plan_pass
from bcsync.engine.transform import lookup_table

# The reference converts each timestamp with to_pydatetime, which warns about the dropped nanoseconds.
pytestmark = pytest.mark.filterwarnings("ignore:Discarding nonzero nanoseconds")

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
GUID = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"

NAMES = ["Adatum", "adatum", " Adatum ", "ADATUM", "Zürich", "straße", "STRASSE", "İstanbul", "x" * 40]
BLANKS: list[Any] = [None, float("nan"), "", "   ", ZERO_GUID, "\u00a0", pd.NA, pd.NaT]
NUMBERS: list[Any] = [0, 1, 1000, 1000.0, 0.1, -0.0, True, False, Decimal("1000.00"), Decimal("0.1")]
NUMBERS += [np.int64(7), np.float64(0.1)]
BIG_NUMBERS: list[Any] = [2**53, 2**53 + 1, float(2**53), 10**20, 1e20]  # beyond exact floats
TYPED_NUMBERS = [0.0, 1000.0, 0.1, float("nan"), -0.0, 1e20, 2.0, 3.0]
NUMBER_TEXTS = ["1000", "1000.0", " 1000 ", "1e3", "0.1", "1"]
CODES = ["EUR", "eur", " eur ", "USD", "JPY", "NET30", "net30", "COD", "1", GUID, GUID.upper(), 1]
STAMPS: list[Any] = [
    T0,
    T0 - timedelta(hours=1),
    T0 + timedelta(milliseconds=5),
    T0 - timedelta(milliseconds=5),
    T0 + timedelta(milliseconds=11),
    pd.Timestamp(T0) + pd.Timedelta(10_000_500, "ns"),  # 10 ms apart only below the microsecond
    None,
]


def _pick(rng: random.Random, *pools: list[Any]) -> Any:
    return rng.choice(rng.choice(pools))


def _stamps(rng: random.Random, size: int) -> pd.Series:
    values = [rng.choice(STAMPS) for _ in range(size)]
    if rng.random() < 0.5:
        return pd.Series(pd.to_datetime(values, utc=True))  # typed, blanks as NaT
    return pd.Series(values, dtype=object)


def _rules(rng: random.Random) -> tuple[FieldRule, ...]:
    options = {"NET30": 2, "cod": 3, 1: 9, "1": 10}
    if rng.random() < 0.5:
        options[None] = 0
    pool = [
        FieldRule(
            "name", "name", "Name", bidirectional=rng.random() < 0.6, max_length=rng.choice([None, 5, 0])
        ),
        FieldRule("city", "address1_city", "City", bidirectional=rng.random() < 0.6),
        FieldRule("credit", "creditlimit", "Credit Limit (LCY)", bidirectional=rng.random() < 0.3),
        FieldRule(
            "currency",
            "transactioncurrencyid",
            "Currency Code",
            bidirectional=rng.random() < 0.5,
            lookup="CURRENCY",
            not_null=rng.random() < 0.3,
            clear_on_failed_sync=rng.random() < 0.3,
        ),
        FieldRule(
            "contact", "primarycontactid", "Primary Contact No.", lookup="CONTACT", clear_on_failed_sync=True
        ),
        FieldRule(
            "terms",
            "paymenttermscode",
            "Payment Terms Code",
            option_map=options,
            clear_on_failed_sync=rng.random() < 0.3,
            bidirectional=rng.random() < 0.3,
        ),
        FieldRule(None, "customertypecode", "Type", is_constant=True, constant=rng.choice([3, None, "x"])),
        # a second rule writing `name`: the last value wins, in the first one's place
        FieldRule("city", "name", "City as Name", bidirectional=rng.random() < 0.5),
        FieldRule("missing", "description", "Description"),  # not in the source frame
        FieldRule("blocked", "blocked", "Blocked", bidirectional=rng.random() < 0.5),
        FieldRule("stamp", "lastdate", "Last Date", bidirectional=rng.random() < 0.5),
    ]
    return tuple(rng.sample(pool, rng.randint(0, 6)))


def _source_value(rng: random.Random, field: str, typed: bool) -> Any:
    """Anything the field might hold, or (typed) one Python type and None, as an API returns it."""
    if field in ("name", "city"):
        return (
            _pick(rng, NAMES, ["", "   ", None, ZERO_GUID])
            if typed
            else _pick(rng, NAMES, BLANKS, NUMBER_TEXTS, NUMBERS)
        )
    if field == "credit":
        return _pick(rng, TYPED_NUMBERS) if typed else _pick(rng, NUMBERS, NUMBER_TEXTS, BLANKS, BIG_NUMBERS)
    if field in ("currency", "contact", "terms"):
        return (
            _pick(rng, [c for c in CODES if isinstance(c, str)], [None])
            if typed
            else _pick(rng, CODES, BLANKS)
        )
    if field == "blocked":
        return rng.choice([True, False]) if typed else _pick(rng, [True, False], BLANKS, [0, 1])
    if typed:
        return rng.choice(STAMPS)
    return _pick(rng, STAMPS, ["2026-01-01T12:00:00+00:00", date(2026, 1, 1)], BLANKS)


def _destination_value(rng: random.Random, field: str, like: Any, typed: bool) -> Any:
    """Often the source's own value (or a near miss of it), else anything (typed: of the same type)."""
    roll = rng.random()
    if roll < 0.4:
        return like
    if roll < 0.6 and isinstance(like, str):
        return rng.choice([like.upper(), like.lower(), f" {like} ", like[:5]])
    if typed:
        if isinstance(like, bool):
            return rng.choice([True, False])
        if isinstance(like, float):
            return _pick(rng, TYPED_NUMBERS)
        if isinstance(like, datetime):
            return rng.choice(STAMPS)
        return _pick(rng, NAMES, ["eur-id", GUID, GUID.upper(), "", None])
    if field in ("transactioncurrencyid", "primarycontactid"):
        return _pick(rng, ["eur-id", "usd-id", GUID, GUID.upper()], BLANKS)
    if field in ("paymenttermscode", "customertypecode", "creditlimit"):
        return _pick(rng, NUMBERS, NUMBER_TEXTS, BLANKS, BIG_NUMBERS, [2, 3, 9, 10, 2.0])
    return _pick(rng, NAMES, BLANKS, NUMBERS, STAMPS)


def _lookups(rng: random.Random) -> dict[str, LookupTable]:
    currencies = {"EUR": "eur-id", "usd": "usd-id", GUID: "guid-id", 1: "one-id"}
    return {
        "CURRENCY": lookup_table(
            "CURRENCY",
            dict(rng.sample(sorted(currencies.items(), key=str), rng.randint(0, 4))),
            blank_means=rng.choice([None, "base-id"]),
            maps_to_blank=rng.choice([None, "EUR", GUID]),
            caption=rng.choice(["Currency", ""]),
        ),
        "CONTACT": lookup_table("CONTACT", {"NET30": "contact-id"}, caption="Contact"),
    }


def _case(seed: int) -> tuple[PassSpec, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, LookupTable]]:
    rng = random.Random(seed)
    spec = PassSpec(
        mapping="CUSTOMER",
        sync_pass=rng.choice(list(SyncPass)),
        fields=_rules(rng),
        bidirectional_mapping=rng.random() < 0.7,
        only_coupled=rng.random() < 0.5,
        update_conflict=rng.choice(list(UpdateConflictResolution)),
        deletion_conflict=rng.choice(list(DeletionConflictResolution)),
        force_modify=rng.random() < 0.15,
        source_caption=rng.choice(["Customer", ""]),
        destination_caption=rng.choice(["Account", ""]),
    )
    size = rng.randint(0, 14)
    ids = [f"s{i}" for i in range(size)]
    if size and rng.random() < 0.1:
        ids[-1] = ids[0]  # the same record twice
    fields = ["name", "city", "credit", "currency", "contact", "terms", "blocked", "stamp"]
    typed = {field: rng.random() < 0.5 for field in fields}
    records = {field: [_source_value(rng, field, typed[field]) for _ in ids] for field in fields}
    source = pd.DataFrame({SOURCE_ID: pd.Series(ids, dtype=object if rng.random() < 0.5 else None)})
    if rng.random() < 0.9:
        source[SOURCE_MODIFIED] = _stamps(rng, size)
    for field, values in records.items():
        source[field] = as_column(rng, values)

    coupled = [i for i in range(size) if rng.random() < 0.7 and ids[i] not in ids[:i]]
    couplings = pd.DataFrame(
        {
            SOURCE_ID: [ids[i] for i in coupled] + ["elsewhere"],
            DESTINATION_ID: [f"d{i}" for i in coupled] + ["d-elsewhere"],
            "source_synced_on": _stamps(rng, len(coupled) + 1),
            "destination_synced_on": _stamps(rng, len(coupled) + 1),
            "last_result": [rng.choice(["Success", "Failure", None]) for _ in range(len(coupled) + 1)],
            "skipped": as_column(rng, [rng.random() < 0.15 for _ in range(len(coupled) + 1)]),
        }
    )
    if rng.random() < 0.1:
        couplings = couplings.drop(columns=[rng.choice(["skipped", "last_result", "source_synced_on"])])
    if rng.random() < 0.1:
        couplings = couplings.iloc[0:0]

    existing = [i for i in coupled if rng.random() < 0.85]  # the others were deleted
    destination_fields = {rule.destination_field: rule.source_field for rule in spec.fields}
    destination = pd.DataFrame({DESTINATION_ID: [f"d{i}" for i in existing]})
    destination[DESTINATION_MODIFIED] = _stamps(rng, len(existing))
    for name, source_field in destination_fields.items():
        likes = [records.get(source_field or "", [None] * size)[i] for i in existing]
        if rng.random() < 0.9:
            like_typed = typed.get(source_field or "", False)
            destination[name] = as_column(
                rng, [_destination_value(rng, name, like, like_typed) for like in likes]
            )
    return spec, source, couplings, destination, _lookups(rng)


def _outcome(planner, *args) -> tuple[str, Any]:
    try:
        return "plan", planner(*args)
    except Exception as error:  # both planners must fail alike
        return "error", type(error)


def _typed(payload: Any) -> Any:
    # dict equality would let 7 pass for np.int64(7) or "x" for np.str_("x"): compare types too
    return None if payload is None else [(k, type(v).__name__, repr(v)) for k, v in payload.items()]


@pytest.mark.parametrize("block", range(6))
def test_columnar_planner_matches_the_record_by_record_planner(block):
    for seed in range(block * 100, block * 100 + 100):
        spec, source, couplings, destination, lookups = _case(seed)
        expected = _outcome(plan_pass_rowwise, spec, source, couplings, destination, lookups)
        actual = _outcome(plan_pass, spec, source, couplings, destination, lookups)
        assert actual[0] == expected[0], f"seed {seed}: {actual} vs {expected}"
        if expected[0] == "error":
            assert actual[1] is expected[1], f"seed {seed}"
            continue
        new, old = actual[1], expected[1]
        pd.testing.assert_frame_equal(new, old, obj=f"plan of seed {seed}")
        assert [_typed(p) for p in new["payload"]] == [_typed(p) for p in old["payload"]], f"seed {seed}"
