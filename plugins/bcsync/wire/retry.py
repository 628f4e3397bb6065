"""When a request (or the throttled parts of a `$batch`) is sent again, and how long to wait first.

Retries run on tenacity, as the HTTP provider's do. The one thing tenacity lacks is a wait that listens
to the service: `WaitRetryAfterOrBackoff` takes `Retry-After` when the service sent one and falls back
to exponential backoff with jitter. Only `TransientServiceError` is retried; every other error is
already a final answer (see `errors.classify`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import tenacity
from tenacity import RetryCallState

from bcsync.wire.errors import ConfigurationError, TransientServiceError


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request.

    :param max_retries: retries after the first attempt.
    :param backoff: first wait in seconds when the service gives no `Retry-After`; doubles per retry.
    :param max_backoff: cap of one computed wait.
    :param max_total_wait: cap of all waits for one request; a wait that would pass it fails the task.
    """

    max_retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_total_wait: float = 300.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.max_total_wait < 0:
            raise ConfigurationError(f"retry settings must not be negative: {self}")

    def retrying(
        self,
        *,
        sleep: Callable[[float], None],
        before_sleep: Callable[[RetryCallState], None],
        give_up: Callable[[RetryCallState], NoReturn],
    ) -> tenacity.Retrying:
        """A tenacity `Retrying` for one request under this policy.

        :param sleep: how to wait (tests pass a recorder, so retries cost no time).
        :param before_sleep: called before each wait; `retry_state.upcoming_sleep` is the wait.
        :param give_up: called when the policy stops retrying; raises the error the caller wants.
        """
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientServiceError),
            wait=WaitRetryAfterOrBackoff(self),
            stop=tenacity.stop_after_attempt(self.max_retries + 1) | StopAfterTotalWait(self.max_total_wait),
            sleep=sleep,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )


class WaitRetryAfterOrBackoff(tenacity.wait.wait_base):
    """The service's `Retry-After` when the failure carries one, else exponential backoff with jitter.

    The fallback waits between half and all of `backoff * 2**(retry - 1)` (capped at `max_backoff`):
    never much shorter than the backoff, yet spread so that workers throttled at the same moment do
    not all come back at the same moment.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        half_ceiling = {"multiplier": policy.backoff / 2, "max": policy.max_backoff / 2}
        self._backoff = tenacity.wait_exponential(**half_ceiling) + tenacity.wait_random_exponential(
            **half_ceiling
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(failure, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        return float(self._backoff(retry_state))


class StopAfterTotalWait(tenacity.stop.stop_base):
    """Stop when the next wait would bring the waits of this request past `budget` seconds.

    Counts the waits themselves, not the wall clock, so a `Retry-After` longer than the budget fails
    at once instead of parking the task for it.
    """

    def __init__(self, budget: float) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.idle_for + retry_state.upcoming_sleep > self.budget


def last_failure(retry_state: RetryCallState) -> TransientServiceError:
    """The transient error of the attempt that just failed (what `before_sleep`/`give_up` describe)."""
    failure = retry_state.outcome.exception() if retry_state.outcome else None
    if not isinstance(failure, TransientServiceError):
        raise TypeError(f"retries only follow TransientServiceError, not {failure!r}")
    return failure
