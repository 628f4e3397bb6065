"""The task's memory figures on its timing line: this process's resident size and a resettable peak."""

from __future__ import annotations

import sys

import pytest

from bcsync.process_memory import peak_rss_mb, reset_peak_rss, rss_mb

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")


def test_peak_follows_an_allocation_and_resets_to_the_current_size() -> None:
    reset_peak_rss()
    before = rss_mb()
    block = bytearray(64 * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, not just reserved
    assert peak_rss_mb() >= before + 60
    del block
    reset_peak_rss()
    assert peak_rss_mb() < before + 30  # the freed block no longer counts
