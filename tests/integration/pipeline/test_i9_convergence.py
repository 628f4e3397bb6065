"""Property-based convergence (hypothesis): random edits on both sides between runs of CUSTOMER and
CONTACT — in BC through its API, in Sales by a Sales user through the Web API with Dataverse's
impersonation header — with one of the local services' fault switches on at random during the runs,
then a fault-free run of each job. Afterwards:

* nothing exists twice: no customer, account or contact more than after the first full synchronization
  (scheduled runs create none), and every coupling's ids are distinct;
* every pair an example touched is equal on every mapped bidirectional field (lookups and option
  mappings aside), and no open record error names it;
* the counters add up (the fault-free runs' summaries equal their job log, `Failed` = the errors logged).

Each example edits the pairs of one job (drawn), runs it with a fault on (or none), then runs it
fault-free and checks. A pair is edited on one side only within an example: edits of the same fields
on both sides between two runs are a bidirectional conflict, which BC fails on purpose rather than
converging. Only pairs that can sync both ways are edited (a BC record without a salesperson fails
BC → Sales, as in BC). Examples run one after another on the same data (the state one leaves is the
next one's start), so the test sets up once; the number of examples is fixed, the draw derandomized
and shrinking off, so CI runs the same cases in bounded time. The count is printed at the end.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from fault_invariants import (
    all_rows,
    check_counters,
    folded,
    sales_user_patch,
    switch_off_faults,
    switch_on,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bcsync.pipeline.context import RunKind
from bcsync.registry.model import BcApi, SyncDirection

EXAMPLES = 15
FAULTS = ["5xx rate", "gateway timeout rate", "429 with Retry-After", "commit then drop (batch)"]
FAULTS += ["token refused mid-run"]
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéßøü"

phones = st.from_regex(r"\+1 [2-9]\d\d 555 \d{4}", fullmatch=True)
cities = st.text(alphabet=LETTERS + " -'", min_size=1, max_size=20).map(str.strip).filter(bool)
emails = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12).map(
    lambda word: f"{word}@example.com"
)


@dataclass(frozen=True)
class Job:
    bc_set: str
    crm_set: str
    crm_logical: str
    crm_key: str
    # The fields the examples edit: BC field → (Sales field, values, BC page).
    edited: dict[str, tuple[str, st.SearchStrategy[str], BcApi]]


JOBS = {
    "CUSTOMER": Job(
        "customers",
        "accounts",
        "account",
        "accountid",
        {
            "phoneNumber": ("telephone1", phones, BcApi.STANDARD),
            "city": ("address1_city", cities, BcApi.STANDARD),
            "email": ("emailaddress1", emails, BcApi.STANDARD),
            "faxNo": ("fax", phones, BcApi.CUSTOM),
        },
    ),
    "CONTACT": Job(
        "contacts",
        "contacts",
        "contact",
        "contactid",
        {
            "mobilePhoneNumber": ("mobilephone", phones, BcApi.STANDARD),
            "city": ("address1_city", cities, BcApi.STANDARD),
            "pager": ("pager", phones, BcApi.CUSTOM),
        },
    ),
}


@dataclass
class World:
    """The synchronized data the examples share, and what they have touched so far."""

    harness: Any
    pairs: dict[str, pd.DataFrame]
    counts: dict[str, int]
    touched: dict[str, set[tuple[str, str]]]
    examples: int = 0


def record_counts(harness) -> dict[str, int]:
    counts = {}
    for job in JOBS.values():
        counts[f"bc {job.bc_set}"] = len(all_rows(harness.bc, job.bc_set, ["id"]))
        counts[f"sales {job.crm_set}"] = len(all_rows(harness.crm, job.crm_set, [job.crm_key]))
    return counts


@pytest.fixture
def world(harness) -> World:
    for job in ("SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT"):
        harness.run(job, RunKind.FULL)
    pairs = {}
    for name, job in JOBS.items():
        pairs[name] = syncable_pairs(harness, name, job)
        assert len(pairs[name]) >= 3, (name, pairs[name])
    world = World(harness, pairs, record_counts(harness), {name: set() for name in JOBS})
    yield world
    print(f"hypothesis convergence: {world.examples} examples run")


def syncable_pairs(harness, name: str, job: Job) -> pd.DataFrame:
    """The job's coupled pairs that can sync both ways: not skipped, no open error, and with a BC
    salesperson coupled in SALESPEOPLE (a BC → Sales update of a record whose salesperson has no
    Sales user fails with "must be coupled", as in BC)."""
    couplings = harness.store.couplings(name)
    errors = harness.store.open_errors(name)
    coupled_people = set(harness.store.couplings("SALESPEOPLE")["bc_id"])
    salespeople = {
        row["code"]
        for row in all_rows(harness.bc, "salespeoplePurchasers", ["id", "code"])
        if row["id"].lower() in coupled_people
    }
    api = "v2.0" if name == "CUSTOMER" else "custom"  # where the page has salespersonCode
    owned = {
        row["id"].lower()
        for row in all_rows(harness.bc, job.bc_set, ["id", "salespersonCode"], api=api)
        if row["salespersonCode"] in salespeople
    }
    usable = couplings[
        ~couplings["skipped"]
        & couplings["bc_id"].isin(owned)
        & ~couplings["bc_id"].isin(set(errors["bc_id"].dropna()))
        & ~couplings["crm_id"].isin(set(errors["crm_id"].dropna()))
    ]
    return usable.sort_values("bc_id").reset_index(drop=True)


faults = st.none() | st.tuples(st.sampled_from(["bc", "dataverse"]), st.sampled_from(FAULTS))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a failing example is reported as drawn
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    job_name=st.sampled_from(sorted(JOBS)),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.data()), min_size=1, max_size=4),
    fault=faults,
    sides=st.lists(st.sampled_from(["bc", "crm"]), min_size=4, max_size=4),
)
def test_random_edits_under_random_faults_converge_after_a_fault_free_run(
    world, job_name, edits, fault, sides
):
    """One example: edits to one job's pairs, a run with the fault on, a fault-free run, the check."""
    harness, job = world.harness, JOBS[job_name]
    world.examples += 1
    side_of: dict[tuple[str, str], str] = {}
    for index, values in edits:
        pair = world.pairs[job_name].iloc[index % len(world.pairs[job_name])]
        key = (pair["bc_id"], pair["crm_id"])
        side = side_of.setdefault(key, sides[len(side_of) % len(sides)])  # one side per pair
        field = values.draw(st.sampled_from(sorted(job.edited)), label="field")
        crm_field, strategy, api = job.edited[field]
        edit(harness, job, pair, side, field, crm_field, api, values.draw(strategy, label=field))
        world.touched[job_name].add(key)
    if fault is not None:
        switch_on(harness, *fault)
    # The run may fail under the fault, as its task would; the next run recovers.
    with contextlib.suppress(Exception):
        harness.run(job_name)
    if fault is not None:
        switch_off_faults(harness, fault[0])
    for hook in ("bc", "crm"):  # fresh clients, as the next task would have
        harness.services.__dict__.pop(hook, None)

    check_counters(harness, harness.run(job_name), scheduled=True, job=job_name)
    check_converged(world)


def edit(harness, job: Job, pair, side: str, field: str, crm_field: str, api: BcApi, value: str) -> None:
    if side == "bc":
        harness.bc_edit(job.bc_set, pair["bc_id"], {field: value}, api=api.value)
    else:
        sales_user_patch(harness, job.crm_set, pair["crm_id"], {crm_field: value})


def check_converged(world: World) -> None:
    harness = world.harness
    assert record_counts(harness) == world.counts, "a record exists twice"
    for name, job in JOBS.items():
        couplings = harness.store.couplings(name)
        assert couplings["bc_id"].is_unique and couplings["crm_id"].is_unique, name
        errors = harness.store.open_errors(name)
        named = set(errors["bc_id"].dropna()) | set(errors["crm_id"].dropna())
        fields = compared_fields(harness, name)
        bc_rows = bc_records(harness, name, job, fields)
        crm_rows = {
            row[job.crm_key]: row
            for row in all_rows(harness.crm, job.crm_set, [job.crm_key, *fields.values()])
        }
        current = set(zip(couplings["bc_id"], couplings["crm_id"], strict=True))
        for bc_id, crm_id in world.touched[name]:
            assert (bc_id, crm_id) in current, (name, "uncoupled", bc_id, crm_id)
            assert not {bc_id, crm_id} & named, (name, bc_id, crm_id, errors.to_dict("records"))
            bc_values = {f: folded(bc_rows[bc_id].get(f)) for f in fields}
            crm_values = {f: folded(crm_rows[crm_id].get(c)) for f, c in fields.items()}
            assert bc_values == crm_values, (name, bc_id, crm_id)


def compared_fields(harness, name: str) -> dict[str, str]:
    """Every mapped bidirectional field of the job that is copied as it is (no lookup, no option map)."""
    mapping = harness.services.registry.get(name)
    return {
        f.bc_field: f.crm_field
        for f in mapping.fields
        if f.direction is SyncDirection.BIDIRECTIONAL
        and f.bc_field
        and f.crm_field
        and not f.lookup
        and not f.option_mapping
        and not f.is_constant
    }


def bc_records(harness, name: str, job: Job, fields: dict[str, str]) -> dict[str, dict[str, Any]]:
    """BC's records with the compared fields, read from the page that has each field."""
    mapping = harness.services.registry.get(name)
    rows: dict[str, dict[str, Any]] = {}
    for api in (BcApi.STANDARD, BcApi.CUSTOM):
        names = [
            f.bc_field for f in mapping.fields if f.bc_field in fields and (f.bc_api or BcApi.STANDARD) is api
        ]
        if names:
            for row in all_rows(harness.bc, job.bc_set, ["id", *names], api=api.value):
                rows.setdefault(row["id"].lower(), {}).update(row)
    return rows
