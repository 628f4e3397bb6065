"""Runs the seed generator in a child process, so generating and writing use two cores.

Worth it only for large seeds (the child needs about half a second to start); the queue holds at
most a few transaction groups, so memory stays bounded however many customers are seeded.
"""

from __future__ import annotations

import multiprocessing
import queue as queues
from collections.abc import Iterator
from typing import Any

from sandbox.seed.generate import Batch, SeedGenerator
from sandbox.seed.summary import SeedSummary

QUEUE_DEPTH = 3  # transaction groups generated ahead of the writer
POLL_SECONDS = 1.0


class BackgroundGeneration:
    """Iterates the transaction groups a child process generates; `summary` is set at the end."""

    def __init__(self, *, seed: int, customers: int, **generator: str) -> None:
        """`generator`: the other keyword arguments of `SeedGenerator` (business unit, BC company)."""
        context = multiprocessing.get_context("spawn")  # no fork: the caller may have threads
        self._queue: Any = context.Queue(maxsize=QUEUE_DEPTH)
        self._process = context.Process(
            target=_produce,
            args=(self._queue, seed, customers, generator),
            name="sandbox-seed-generator",
            daemon=True,
        )
        self.summary: SeedSummary | None = None

    def transactions(self) -> Iterator[list[Batch]]:
        self._process.start()
        try:
            while True:
                kind, payload = self._next()
                if kind == "group":
                    yield payload
                elif kind == "done":
                    self.summary = payload
                    return
                else:
                    raise RuntimeError(f"the seed generator failed:\n{payload}")
        finally:
            self._stop()

    def _next(self) -> tuple[str, Any]:
        while True:
            try:
                return self._queue.get(timeout=POLL_SECONDS)
            except queues.Empty:
                if not self._process.is_alive():
                    raise RuntimeError(
                        f"the seed generator exited with code {self._process.exitcode} before finishing"
                    ) from None

    def _stop(self) -> None:
        if self._process.is_alive() and self.summary is None:
            self._process.terminate()  # the writer failed; the generated rest is not needed
        self._process.join()
        self._queue.close()


def _produce(queue: Any, seed: int, customers: int, options: dict[str, str]) -> None:
    try:
        generator = SeedGenerator(seed=seed, customers=customers, **options)
        for group in generator.transactions():
            queue.put(("group", group))
        queue.put(("done", generator.summary))
    except Exception:  # reported to the parent, which raises it
        import traceback

        queue.put(("error", traceback.format_exc()))
