"""A pass's load split into partitions (the DAG's mapped load tasks): every guarantee holds per partition,
and the partitions add up to the job a single load would have recorded."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.couple import couple
from bcsync.pipeline.extract import extract
from bcsync.pipeline.load import load
from bcsync.pipeline.record import record_job
from bcsync.pipeline.staging import read_rows, run_folder
from bcsync.pipeline.transform import transform
from bcsync.results import LoadResult, PlanResult, merge_loads

TO_CRM = "ToIntegrationTable"
FROM_CRM = "FromIntegrationTable"
PARTITION_SIZE = 7  # writes per partition: the seed's 30 customers make several per pass


def full_sync_dependencies(harness) -> None:
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)


def accounts(harness) -> pd.DataFrame:
    rows = [r for page in harness.crm.iter_pages("accounts", select=["accountid", "name"]) for r in page]
    return pd.DataFrame(rows)


def bc_customer_ids(harness) -> list[str]:
    return [r["id"] for page in harness.bc.iter_pages("customers", select=["id"]) for r in page]


def planned_in_partitions(harness, run: RunContext):
    """The job's steps up to its plan, as the DAG's tasks run them; the plan's partitions."""
    mapping = harness.services.registry.get("CUSTOMER")
    folder = run_folder(run.dag_id, run.run_id, mapping.name, harness.staging)
    extracts = {side: extract(mapping, side, run, harness.services, folder) for side in Side}
    coupled = couple(mapping, run, harness.services, folder, extracts)
    planned = transform(mapping, run, harness.services, folder, extracts, coupled)
    return mapping, folder, extracts, coupled, planned


def missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


def load_partition(harness, mapping, run, folder, part: PlanResult, destination: Side) -> LoadResult:
    sync_pass = TO_CRM if destination is Side.CRM else FROM_CRM
    partition = part.passes[sync_pass].partitions[0]
    return load(mapping, destination, run, harness.services, folder, part, partition)


def test_a_full_sync_in_partitions_writes_and_couples_every_record_once(harness):
    full_sync_dependencies(harness)
    accounts_before = accounts(harness)
    customers_before = bc_customer_ids(harness)
    run = RunContext(
        dag_id="bcsync_customer", run_id="partitioned", kind=RunKind.FULL, partition_size=PARTITION_SIZE
    )
    mapping, folder, extracts, coupled, planned = planned_in_partitions(harness, run)

    parts = planned.partitioned()
    to_pass = planned.passes[TO_CRM]
    # Cut by writes, which a load's requests follow: each partition but the last holds that many.
    writes = [p.planned.inserted + p.planned.modified for p in to_pass.partitions]
    assert len(writes) > 1 and writes[:-1] == [PARTITION_SIZE] * (len(writes) - 1)
    assert 0 < writes[-1] <= PARTITION_SIZE
    assert len(parts) == max(len(p.partitions) for p in planned.passes.values())
    # Each partition reads only its own rows of the staged plan, and together they are the plan.
    ranges = [read_rows(to_pass.plan, p.start, p.stop) for p in to_pass.partitions]
    assert sum(map(len, ranges)) == to_pass.plan.rows
    assert pd.concat(ranges)["source_id"].is_unique

    # The To pass's partitions, then the From pass's, as the mapped load tasks run.
    loads = [
        load_partition(harness, mapping, run, folder, p, side) for side in (Side.CRM, Side.BC) for p in parts
    ]
    merged = merge_loads(loads)
    assert {load.partition for load in loads if load.sync_pass == TO_CRM} == set(range(len(parts)))
    job = record_job(mapping, run, harness.services, extracts, merged, coupled).summary()

    to_crm = job["directions"][TO_CRM]
    assert to_crm["Inserted"] == to_pass.planned.inserted > 0
    assert to_crm["Unchanged"] == to_pass.planned.unchanged
    after = accounts(harness)
    assert len(after) == len(accounts_before) + to_crm["Inserted"]
    assert len(bc_customer_ids(harness)) == len(customers_before) + job["directions"][FROM_CRM]["Inserted"]
    couplings = harness.store.couplings("CUSTOMER")
    assert couplings["bc_id"].is_unique and couplings["crm_id"].is_unique
    assert set(couplings["crm_id"]) <= set(after["accountid"])


def test_a_retried_partition_writes_nothing_twice_and_counts_what_it_settled(harness):
    full_sync_dependencies(harness)
    run = RunContext(
        dag_id="bcsync_customer", run_id="retried", kind=RunKind.FULL, direction=TO_CRM, partition_size=7
    )
    mapping, folder, _, _, planned = planned_in_partitions(harness, run)
    parts = planned.partitioned()
    first = [load_partition(harness, mapping, run, folder, p, Side.CRM) for p in parts]
    written = accounts(harness)

    # Partition 2 cleared and run again: another try of the same task instance.
    again = load_partition(harness, mapping, replace(run, try_number=2), folder, parts[1], Side.CRM)

    assert len(accounts(harness)) == len(written)
    assert again.counters.inserted == first[1].counters.inserted > 0
    assert again.partition == 1 and again.partitions == len(parts)
    merged = merge_loads([*first[:1], again, *first[2:]])[TO_CRM]
    assert merged.counters.inserted == sum(load.counters.inserted for load in first)


def test_planning_in_small_chunks_makes_the_plan_of_one_chunk(harness, monkeypatch):
    """The transform plans a chunk of source records at a time (flat memory); the plan, its partitions
    and their counters are those of planning all records together."""
    import bcsync.pipeline.transform as transform_module

    full_sync_dependencies(harness)
    run = RunContext(
        dag_id="bcsync_customer", run_id="chunked", kind=RunKind.FULL, partition_size=PARTITION_SIZE
    )
    mapping, folder, extracts, coupled, whole = planned_in_partitions(harness, run)
    whole_plans = {name: read_rows(p.plan, 0, p.plan.rows) for name, p in whole.passes.items()}

    monkeypatch.setattr(transform_module, "CHUNK_ROWS", 4)
    chunked = transform(mapping, run, harness.services, folder, extracts, coupled)
    for name, step in chunked.passes.items():
        assert step.plan.rows == whole.passes[name].plan.rows > 4
        assert step.partitions == whole.passes[name].partitions
        plan = read_rows(step.plan, 0, step.plan.rows)
        # A chunk whose records all lack a value (e.g. no destination id yet) stages that column as
        # objects rather than text: the same values, None for NaN, which the load reads alike.
        pd.testing.assert_frame_equal(missing_as_none(plan), missing_as_none(whole_plans[name]))
        assert plan["action"].tolist() == whole_plans[name]["action"].tolist()


def _synced_modified_on_matches_the_accounts(harness) -> pd.DataFrame:
    """Every coupling's "Last Synch. CRM Modified On" is its account's modified-on (read back)."""
    rows = [
        r for page in harness.crm.iter_pages("accounts", select=["accountid", "modifiedon"]) for r in page
    ]
    modified = {r["accountid"]: pd.Timestamp(r["modifiedon"]) for r in rows}
    couplings = harness.store.couplings("CUSTOMER")
    assert len(couplings) > 0
    for crm_id, synced in zip(couplings["crm_id"], couplings["crm_synced_on"], strict=True):
        assert pd.Timestamp(synced) == modified[crm_id], crm_id
    return couplings


def test_each_partition_reads_back_only_its_own_writes(harness, monkeypatch):
    """The read-back window starts when the partition's writes began on the service's clock (its Date
    headers), so a partition does not read again the writes of the partitions loaded before it."""
    import time

    from bcsync.pipeline import writing

    full_sync_dependencies(harness)
    monkeypatch.setattr(writing, "READ_BACK_BY_ID", 0)  # the window even for the seed's few records
    windows: list[int] = []
    read_window = writing._read_window

    def counted(*args, **kwargs):
        frames = read_window(*args, **kwargs)
        windows.append(sum(len(f) for f in frames))
        return frames

    monkeypatch.setattr(writing, "_read_window", counted)
    run = RunContext(
        dag_id="bcsync_customer", run_id="read-back", kind=RunKind.FULL, direction=TO_CRM, partition_size=7
    )
    mapping, folder, _, _, planned = planned_in_partitions(harness, run)
    written = []
    for part in planned.partitioned():
        # The Date header's second and the margin apart: the windows cannot overlap.
        time.sleep(1 + writing.SERVICE_CLOCK_MARGIN.total_seconds() + 1)
        result = load_partition(harness, mapping, run, folder, part, Side.CRM)
        written.append(result.counters.inserted + result.counters.modified)

    assert len(windows) == sum(1 for w in written if w) > 1
    assert windows == [w for w in written if w]  # its own writes, no earlier partition's
    _synced_modified_on_matches_the_accounts(harness)


def test_writes_a_misjudged_window_missed_are_read_back_by_id(harness, monkeypatch):
    """A service whose modified-on clock lags its Date header beyond the margin: the writes outside
    the window are read back by id, so every coupling still gets its record's modified-on."""
    from datetime import timedelta

    from bcsync.pipeline import writing

    full_sync_dependencies(harness)
    monkeypatch.setattr(writing, "READ_BACK_BY_ID", 0)
    monkeypatch.setattr(writing, "SERVICE_CLOCK_MARGIN", -timedelta(hours=1))  # a window in the future
    harness.run("CUSTOMER", RunKind.FULL, direction=TO_CRM)

    couplings = _synced_modified_on_matches_the_accounts(harness)
    assert couplings["crm_synced_on"].notna().all()
