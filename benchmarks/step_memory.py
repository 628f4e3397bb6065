"""One step of a kept `sync_benchmark.py` run replayed in a fresh process: its peak RSS and CPU time.

`dag.test` runs every task in one process, so a task's peak there includes what earlier tasks left
on the heap. Under a real executor each task is its own process; this script measures a step that
way. It replays the initial full synchronization's couple step (and then its transform step) from
the extracts that run staged, against a copy of the run's coupling store with the job's couplings
removed (the state the initial sync's couple step started from). The local services are started
on the kept work dir's data (`sandbox/`) for the steps that ask them anything (read only).

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/step_memory.py --work-dir /work/bench_x \
        --step couple

Prints one line per step: wall and CPU seconds, peak RSS and the RSS when the step began (the
imports, as in a task process that has imported the pipeline).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MAPPING = "CUSTOMER"
DAG_ID = "bcsync_customer"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, required=True, help="a kept sync_benchmark.py work dir")
    parser.add_argument("--step", choices=("couple", "transform"), default="couple")
    parser.add_argument("--no-services", action="store_true", help="do not start the local services")
    parser.add_argument(
        "--services-data", type=Path, help="the services' data dir (default: the work dir's sandbox/)"
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="step_memory_"))
    try:
        data = args.services_data or args.work_dir / "sandbox"
        sandbox = None if args.no_services else _start_services(data)
        try:
            _measure(args.work_dir, scratch, args.step)
        finally:
            if sandbox is not None:
                sandbox.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _start_services(data: Path) -> Any:
    from sandbox.launcher import start_sandbox

    # The kept data as it is: the steps measured only read from the services.
    sandbox = start_sandbox(data, seed_customers=0, timeout=600)
    from bcsync_dev.sandbox_connections import sandbox_connections

    os.environ.update(sandbox_connections(sandbox))
    return sandbox


def _store_before_initial_sync(work: Path, scratch: Path) -> str:
    """A copy of the run's store without the job's couplings, leases and pending writes."""
    copy = scratch / "store.db"
    for suffix in ("", "-wal", "-shm"):
        if (work / f"store.db{suffix}").exists():
            shutil.copy(work / f"store.db{suffix}", scratch / f"store.db{suffix}")
    with sqlite3.connect(copy) as conn:
        for table in ("couplings", "job_leases", "pending_writes"):
            conn.execute(f"DELETE FROM {table} WHERE mapping = ?", (MAPPING,))
    return f"sqlite:///{copy}"


def _initial_run_folder(work: Path) -> Path:
    """The staging folder of the first timed run (the initial full synchronization)."""
    runs = sorted((work / "staging" / DAG_ID).iterdir(), key=lambda p: p.name)  # manual__<start time>
    return runs[0] / MAPPING


def _staged(folder: Path) -> Any:
    import pyarrow.parquet as pq

    from bcsync.results import StagedFrame

    rows = sum(pq.ParquetFile(part).metadata.num_rows for part in sorted(folder.iterdir()))
    return StagedFrame(url=f"file://{folder}", rows=rows)


def _measure(work: Path, scratch: Path, step: str) -> None:
    os.environ["AIRFLOW_CONN_BCSYNC_STORE"] = _store_before_initial_sync(work, scratch)
    os.environ.setdefault("AIRFLOW_HOME", str(scratch / "airflow"))
    import pandas as pd  # imported before the start figure, as a task has
    from airflow.sdk import ObjectStoragePath

    from bcsync import process_memory
    from bcsync.engine.model import Side
    from bcsync.pipeline.context import RunContext, RunKind
    from bcsync.pipeline.couple import couple
    from bcsync.pipeline.services import Services
    from bcsync.pipeline.transform import transform
    from bcsync.process_memory import peak_rss_mb, reset_peak_rss, rss_mb
    from bcsync.results import CoupleResult, ExtractResult, PassCouplings

    source = _initial_run_folder(work)
    extracts: dict[Side, ExtractResult | None] = {}
    for side, name in ((Side.BC, "extract_bc"), (Side.CRM, "extract_crm")):
        folder = source / name
        staged = _staged(folder) if folder.exists() else None
        extracts[side] = ExtractResult(side=side.value, staged=staged, started_at="2026-01-01T00:00:00Z")
    services = Services()
    mapping = services.registry.get(MAPPING)
    run = RunContext(dag_id=DAG_ID, run_id="step_memory", kind=RunKind.FULL, direction="ToIntegrationTable")
    out = ObjectStoragePath(f"file://{scratch / 'staging'}")
    out.mkdir(parents=True, exist_ok=True)

    def timed(name: str, call: Any) -> Any:
        # As the step operators do (the code before this function existed did not).
        getattr(process_memory, "use_system_allocator_for_arrow", lambda: None)()
        reset_peak_rss()
        start, cpu, wall = rss_mb(), time.process_time(), time.perf_counter()
        result = call()
        print(
            f"{name}: {time.perf_counter() - wall:.1f} s, cpu {time.process_time() - cpu:.1f} s, "
            f"peak rss {peak_rss_mb():.0f} MB, {start:.0f} MB at start",
            flush=True,
        )
        return result

    def digest() -> None:
        """What the step staged, one line per frame: rows, dtypes and a hash of the values in any row order
        (compare before and after a change)."""
        from bcsync.pipeline.staging import read_frame

        for folder in sorted((scratch / "staging").iterdir()):
            frame = read_frame(f"file://{folder}")
            values = pd.util.hash_pandas_object(frame.astype(str), index=False).sum() if len(frame) else 0
            print(f"  {folder.name}: {len(frame)} rows, {list(map(str, frame.dtypes))}, hash {values}")

    if step == "couple":
        coupled = timed("couple", lambda: couple(mapping, run, services, out, extracts))
        print(f"  {coupled}", file=sys.stderr)
    else:
        # The kept run's own couple output, so transform starts in a process that ran nothing else.
        coupled = CoupleResult(
            passes={
                "ToIntegrationTable": PassCouplings(
                    couplings=_staged(source / "couplings_ToIntegrationTable"),
                    destination=_staged(source / "destination_ToIntegrationTable"),
                )
            }
        )
        plans = timed("transform", lambda: transform(mapping, run, services, out, extracts, coupled))
        print(f"  planned: {[p.planned for p in plans.passes.values()]}", file=sys.stderr)
    digest()


if __name__ == "__main__":
    main()
