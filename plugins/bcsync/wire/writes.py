"""What a bulk write reports per input record, and how batches of records are cut and sent.

`WriteResult` is the contract with the load tasks: one per input record, in input order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, NoReturn, TypeVar

from tenacity import RetryCallState

from bcsync.wire.batch import BatchOperation, BatchPartResponse
from bcsync.wire.errors import (
    ConfigurationError,
    RecordRejected,
    ServiceUnavailable,
    TransientServiceError,
    UnexpectedResponse,
    classify_status,
)
from bcsync.wire.retry import RetryPolicy, last_failure

log = logging.getLogger(__name__)

Operation = Literal["create", "update", "upsert", "delete"]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class WriteResult:
    """The outcome for one input record.

    :param index: position of the record in the input.
    :param id: the record's primary key (GUID) when known.
    :param error: why the service refused this record (None when it was written).
    :param etag: the new ETag when the service returned one.
    """

    index: int
    id: str | None = None
    error: RecordRejected | None = None
    etag: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def chunks(items: Sequence[T], size: int, *, limit: int) -> Iterator[tuple[int, Sequence[T]]]:
    """`(offset, slice)` pairs of at most `size` items; `size` must be within the service's limit."""
    if not 0 < size <= limit:
        raise ConfigurationError(f"batch_size must be 1..{limit}, got {size}")
    for offset in range(0, len(items), size):
        yield offset, items[offset : offset + size]


def map_in_order(function: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[R]:
    """`function` over `items` on up to `workers` threads, results in input order; first error wins."""
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="bcsync-write") as pool:
        return list(pool.map(function, items))


def check_operation(operation: str, allowed: Sequence[str]) -> None:
    if operation not in allowed:
        raise ConfigurationError(f"operation must be one of {', '.join(allowed)}; got {operation!r}")


def part_outcome(
    index: int, part: BatchPartResponse, *, record_id: str | None, label: str | None, what: str
) -> WriteResult | TransientServiceError:
    """One batch part as a result: written, refused (this record fails), throttled (resend), or raise."""
    error = classify_status(part.status, part.headers, part.body, what=what)
    if isinstance(error, TransientServiceError):
        return error
    if isinstance(error, RecordRejected):
        return WriteResult(index=index, id=record_id, error=error.for_record(label))
    if error is not None:
        raise error  # authentication: no later record can succeed either
    body = part.body if isinstance(part.body, Mapping) else {}
    return WriteResult(index=index, id=record_id, etag=body.get("@odata.etag"))


def settle_batch(
    operations: Mapping[int, BatchOperation],
    send: Callable[[list[BatchOperation]], list[BatchPartResponse]],
    outcome: Callable[[int, BatchPartResponse], WriteResult | TransientServiceError],
    *,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
) -> list[WriteResult]:
    """Send `operations` as one batch, resending only throttled parts until each has a final result.

    A round with throttled parts counts as one failed attempt under `retry`, waiting for the longest
    `Retry-After` among them.
    """
    results: dict[int, WriteResult] = {}

    def send_pending() -> list[WriteResult]:
        pending = sorted(set(operations) - set(results))
        parts = send([operations[index] for index in pending])
        if len(parts) != len(pending):
            raise UnexpectedResponse(f"$batch answered {len(parts)} parts for {len(pending)} requests")
        throttled = []
        for index, part in zip(pending, parts, strict=True):
            result = outcome(index, part)
            if isinstance(result, TransientServiceError):
                throttled.append(result)
            else:
                results[index] = result
        if throttled:
            hint = max((t.retry_after or 0.0) for t in throttled) or None
            raise TransientServiceError(
                f"{len(throttled)} of {len(pending)} $batch parts throttled", retry_after=hint
            )
        return [results[index] for index in sorted(results)]

    def log_resend(retry_state: RetryCallState) -> None:
        log.warning("%s; resending them in %.1fs", last_failure(retry_state), retry_state.upcoming_sleep)

    def give_up(retry_state: RetryCallState) -> NoReturn:
        raise ServiceUnavailable(
            f"{len(operations) - len(results)} $batch parts still throttled after retries"
        ) from last_failure(retry_state)

    return retry.retrying(sleep=sleep, before_sleep=log_resend, give_up=give_up)(send_pending)
