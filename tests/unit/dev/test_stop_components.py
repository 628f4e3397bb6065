"""Stopping the local Airflow's processes: each component first stops its own children, as the scheduler
shuts its LocalExecutor workers down; what is left is terminated, then killed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from bcsync_dev.local_airflow import Component, stop_components

# A worker that must not be signalled directly: SIGTERM is noted (it would break its parent's
# shutdown), SIGUSR1 is its parent's "stop" message.
WORKER = """
import signal, sys, time
def note(text):
    with open(sys.argv[1], "a") as marker:
        print(text, file=marker)
signal.signal(signal.SIGTERM, lambda *_: note("terminated directly"))
def stop(*_):
    note("stopped by its parent")
    sys.exit(0)
signal.signal(signal.SIGUSR1, stop)
print("worker ready", flush=True)
while True:
    time.sleep(0.05)
"""

# A component that, on SIGTERM, tells its worker to stop and waits for it, as the scheduler does.
PARENT = """
import signal, subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
def stop(*_):
    worker.send_signal(signal.SIGUSR1)
    worker.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(0.05)
"""

# A descendant in a session of its own that ignores SIGTERM, as a stuck task process might.
STUBBORN = """
import signal, subprocess, sys, time
IGNORING = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('worker ready', flush=True); time.sleep(60)"
)
subprocess.Popen([sys.executable, "-c", IGNORING], start_new_session=True)
time.sleep(60)
"""


def _start(tmp_path: Path, name: str, *args: str) -> Component:
    log_file = tmp_path / f"{name}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 20
    while "worker ready" not in log_file.read_text():  # its signal handlers are set
        assert time.monotonic() < deadline, log_file.read_text()
        time.sleep(0.05)
    return Component(name, process, log_file)


def test_a_component_stops_its_own_worker_before_anything_signals_the_worker(tmp_path: Path) -> None:
    marker = tmp_path / "worker.txt"
    component = _start(tmp_path, "scheduler", textwrap.dedent(PARENT), textwrap.dedent(WORKER), str(marker))
    worker = psutil.Process(component.process.pid).children()[0]

    killed = stop_components([component], timeout=10)

    assert killed == []
    assert marker.read_text().splitlines() == ["stopped by its parent"]
    assert _gone(worker) and component.process.returncode == 0


def test_a_descendant_that_ignores_sigterm_is_killed_and_reported(tmp_path: Path) -> None:
    component = _start(tmp_path, "stubborn", textwrap.dedent(STUBBORN))
    stubborn = psutil.Process(component.process.pid).children()[0]

    killed = stop_components([component], timeout=1.5)

    assert [line.split()[0] for line in killed] == [str(stubborn.pid)]
    assert not component.alive()
    assert _gone(stubborn)


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE  # dead, not yet reaped by its new parent
    except psutil.NoSuchProcess:
        return True
