"""This process's resident memory (Linux /proc), for the timing line each task logs last.

A task's peak is what the issue's memory targets are about. Under a real executor each task has a
process of its own; `airflow dags test` runs every task in one process, so the peak is reset when a
task starts (Linux's `clear_refs` 5) and each task reports its own. Elsewhere the figures are None.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
# glibc's mallopt: blocks of this size or more are mapped on their own, and unmapped when freed.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 4 * 1024 * 1024


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
    _keep_large_blocks_mapped()


def _keep_large_blocks_mapped() -> None:
    """Fix glibc's mmap threshold at 4 MiB. Left dynamic, glibc raises it (up to 32 MiB) each time a
    mapped block is freed; a million rows' columns then come from the heap, and what they leave free
    stays resident. Replayed at 1,000,000 customers in a fresh process (benchmarks/step_memory.py),
    couple / transform peaked at 852 / 869 MB with the dynamic threshold, 818 / 783 MB with 4 MiB and
    698 / 755 MB with 128 KiB, but 128 KiB maps every block of a 100,000-row column too and cost a
    quarter more CPU (4 MiB: a tenth more than dynamic). `MALLOC_MMAP_THRESHOLD_`, when set, still
    chooses; elsewhere than glibc nothing changes."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


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
