"""What the end-to-end sync benchmarks share: the result line a child process prints, the customers
changed between runs, and bcsync's own CPU time read from a DAG run's log.

Not a script: sync_benchmark.py and bench_sync.py import it as a sibling module (Python puts the
script's folder, benchmarks/, first on sys.path).
"""

from __future__ import annotations

import json
import re
import resource
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH RESULT "
UPDATE_BATCH = 5000  # records per write_many call when changing customers (the hook splits into $batch)
# bcsync.operators.base.TIME_MARKER's line, one per task (a mapped task logs one per map index):
# "bcsync code time: CUSTOMER extract 0.412 s, cpu 0.305 s, peak rss 402 MB, 250 MB at start"
_CODE_TIME = re.compile(r"bcsync code time: .*? ([\d.]+) s, cpu ([\d.]+) s")
_TASK_PEAK = re.compile(r"bcsync code time: .*?, peak rss (\d+) MB")


def print_result(result: dict[str, Any]) -> None:
    """A child process's figures, as the one line its parent looks for in the output."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def peak_rss_kb() -> int:
    """This process's peak resident set size in KiB, since it started its program (or since a task
    reset it: `bcsync.process_memory`).

    Not `ru_maxrss` where VmHWM is there: Linux carries a process's peak over exec, so a child started
    by a big parent (fork, then exec) reports at least the parent's size.
    """
    from bcsync.process_memory import peak_rss_mb

    peak = peak_rss_mb()
    return round(peak * 1024) if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def task_peak_rss_mb(log_file: Path) -> float:
    """The largest peak RSS a task of the run reported on its timing line (0 when none did).

    Each task resets its process's peak when it starts (`bcsync.process_memory`), so in `dag.test`,
    which runs every task in one process, this is the hungriest task's peak; the process's own VmHWM
    at the end is then only the last task's."""
    peaks = [float(m.group(1)) for m in _TASK_PEAK.finditer(log_file.read_text(errors="replace"))]
    return max(peaks, default=0.0)


def child_result(log_file: Path) -> dict[str, Any] | None:
    """The figures a child process printed last (`print_result`), or None if it printed none."""
    for line in reversed(log_file.read_text(errors="replace").splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return None


def code_times(log_file: Path) -> tuple[float, float]:
    """bcsync's own wall and CPU seconds in a DAG run: the sum over every task's timing line."""
    wall = cpu = 0.0
    for match in _CODE_TIME.finditer(log_file.read_text(errors="replace")):
        wall += float(match.group(1))
        cpu += float(match.group(2))
    return wall, cpu


def changed_customers(coupled_bc_ids: Sequence[str], customers: int, percent: float) -> list[str]:
    """`percent` % of all customers, spread over the coupled ones in id order (the same on two
    services seeded alike): an uncoupled customer's change is ignored by a scheduled run (only coupled
    records are synchronized), so it would test nothing."""
    ids = sorted(str(i).lower() for i in coupled_bc_ids)
    count = min(len(ids), max(1, int(customers * percent / 100)))
    step = max(1, len(ids) // count)
    return ids[::step][:count]


def change_customers(bc_ids: Sequence[str]) -> float:
    """Change the phone number of these customers through the BC API (JSON $batch); returns seconds.

    Needs the BC connection in the environment (`bcsync_dev.sandbox_connections`)."""
    from bcsync.hooks.business_central import BusinessCentralHook

    stamp = datetime.now(UTC).strftime("%H%M%S")
    hook = BusinessCentralHook()
    began = time.perf_counter()
    failures = 0
    for start in range(0, len(bc_ids), UPDATE_BATCH):
        records = [
            {"id": bc_id, "phoneNumber": f"+1 425 {stamp[:3]} {start + i:05d}"}
            for i, bc_id in enumerate(bc_ids[start : start + UPDATE_BATCH])
        ]
        results = hook.write_many("customers", records, "update", if_match="*")
        failures += sum(1 for r in results if not r.ok)
    if failures:
        raise SystemExit(f"{failures} customer update(s) failed")
    return time.perf_counter() - began
