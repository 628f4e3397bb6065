"""This process's resident memory (Linux /proc), for the timing line each task logs last.

A task's peak is what the issue's memory targets are about. Under a real executor each task has a
process of its own; `airflow dags test` runs every task in one process, so the peak is reset when a
task starts (Linux's `clear_refs` 5) and each task reports its own. Elsewhere the figures are None.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def use_system_allocator_for_arrow() -> None:
    """Have Arrow (Parquet reads, pandas' text columns) allocate with the C library's malloc.

    Arrow's default pool (mimalloc) keeps pages it freed for reuse: a task's extracts, read and
    dropped part by part, stayed resident (a third of the couple step's growth at 100,000 customers).
    malloc gives them back. `ARROW_DEFAULT_MEMORY_POOL`, when set, still chooses.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def reset_peak_rss() -> None:
    """Start this process's peak resident size again from its current size (no-op where unsupported)."""
    with contextlib.suppress(OSError):
        _CLEAR_REFS.write_text("5")


def rss_mb() -> float | None:
    """Resident size now, MiB."""
    return _status_mb("VmRSS:")


def peak_rss_mb() -> float | None:
    """Peak resident size since the process started or `reset_peak_rss`, MiB."""
    return _status_mb("VmHWM:")


def _status_mb(field: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
