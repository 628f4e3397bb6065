"""The service's clock as its responses' `Date` headers show it, next to ours.

A read "modified since our writes began" must name that moment on the service's clock: the
modified-on values are the service's. Each response bounds the offset between the two clocks from
below: the service wrote `Date` (whole seconds, rounded down) before we received the response, so
`service clock - our clock >= Date - received`. A moment of ours plus that bound is never later than
the same moment on the service's clock (give or take the clock skew between the service's own
machines, which callers cover with a margin of seconds).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


class ServiceClock:
    """The latest lower bound of (service clock - our clock) the responses showed; None before any.

    The latest rather than the largest: a clock that was set back since is believed at once.
    Plain attribute writes: the transport's threads may observe concurrently; any one bound is valid.
    """

    def __init__(self) -> None:
        self._offset: float | None = None  # seconds

    def observe(self, date_header: str | None, *, received: float | None = None) -> None:
        """Note a response's `Date` header, received at `received` (our epoch seconds, default now)."""
        if not isinstance(date_header, str) or not date_header:
            return
        try:
            served = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return  # a malformed Date says nothing about the clock
        if served.tzinfo is None:
            return  # RFC 9110: an HTTP-date is always GMT; "-0000" parses naive and means unknown
        self._offset = served.timestamp() - (time.time() if received is None else received)

    @property
    def offset(self) -> timedelta | None:
        """The lower bound of (service clock - our clock), None until a response carried a `Date`."""
        return None if self._offset is None else timedelta(seconds=self._offset)

    def on_service(self, moment: datetime) -> datetime | None:
        """Our `moment` as the service's clock showed it at the latest (None: no `Date` seen yet)."""
        offset = self.offset
        return None if offset is None else moment.astimezone(UTC) + offset
