"""The HTTPS transport both hooks share: pooled session, default headers, timeouts, bearer auth and retries.

Every request goes through `ServiceTransport.request`, which asks `errors.classify` what a response means
and either returns it, retries it (backoff + jitter, `Retry-After` first), or raises the typed error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from bcsync.wire.auth import BearerAuth
from bcsync.wire.errors import (
    ConfigurationError,
    OutcomeUnknown,
    ServiceUnavailable,
    TransientServiceError,
    UnexpectedResponse,
    classify,
)

log = logging.getLogger(__name__)

ODATA_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request.

    :param max_retries: retries after the first attempt.
    :param backoff: first wait in seconds when the service gives no `Retry-After`; doubles per retry.
    :param max_backoff: cap of one computed wait.
    :param max_total_wait: cap of all waits for one request; beyond it the task fails.
    """

    max_retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_total_wait: float = 300.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.max_total_wait < 0:
            raise ConfigurationError(f"retry settings must not be negative: {self}")

    def wait(self, retry_number: int, retry_after: float | None) -> float:
        """Seconds before retry `retry_number` (1-based): the service's `Retry-After`, else full jitter."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_backoff, self.backoff * 2 ** (retry_number - 1))
        # Jitter spreads parallel workers that were throttled at the same moment.
        return random.uniform(ceiling / 2, ceiling)


def build_session(*, ca_bundle: str | None, pool_size: int) -> requests.Session:
    """A session that trusts exactly `ca_bundle` (or the system store) whatever `REQUESTS_CA_BUNDLE` says."""
    session = requests.Session()
    # trust_env=False: environment CA/proxy settings would silently override `verify` (spec §D).
    session.trust_env = False
    session.verify = ca_bundle or True
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def redact_url(url: str) -> str:
    """The URL without query string or credentials, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class ServiceTransport:
    """Sends requests to one service (one base URL, one token scope).

    :param base_url: every relative URL is resolved against it; absolute URLs must share its origin.
    :param session: the pooled session (see `build_session`).
    :param auth: bearer auth for the service's scope.
    :param timeout: seconds to connect and to wait for each response.
    :param retry: the retry policy.
    :param max_concurrency: requests in flight at once from this transport (BC allows 5 per user).
    :param headers: default headers on every request.
    :param sleep: how to wait (tests replace it to run instantly and record waits).
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session,
        auth: BearerAuth,
        timeout: float = 100.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 16,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.session = session
        self.auth = auth
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.headers = {**ODATA_HEADERS, **(headers or {})}
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._sleep = sleep
        origin = urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc.lower())

    def __repr__(self) -> str:
        return f"ServiceTransport(base_url={self.base_url!r})"

    def url(self, path_or_url: str) -> str:
        """Absolute URL for a path relative to the base URL; absolute URLs must stay on the service."""
        if "://" not in path_or_url:
            return self.base_url + path_or_url.lstrip("/")
        parts = urlsplit(path_or_url)
        # Never send our bearer token to a host a response pointed us at.
        if (parts.scheme, parts.netloc.lower()) != self._origin:
            raise ConfigurationError(f"refusing to follow {redact_url(path_or_url)}: not on {self.base_url}")
        return path_or_url

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        resend_safe: bool | None = None,
    ) -> requests.Response:
        """Send a request; return the successful response or raise a `ClientError`.

        `resend_safe` says whether sending the request twice does no harm; by default every method
        but POST. A request that is not safe to resend is not retried once it may have reached the
        service (the connection broke after sending): `OutcomeUnknown` is raised instead.
        """
        if resend_safe is None:
            resend_safe = method.upper() != "POST"
        url = self.url(path_or_url)
        merged = {**self.headers, **(headers or {})}
        waited = 0.0
        refreshed = False
        retry_number = 0
        while True:
            try:
                response = self._send(method, url, json=json, data=data, headers=merged)
                if response.status_code == 401 and not refreshed:
                    # Tokens can be revoked or expire early: renew once, then believe the 401.
                    refreshed = True
                    log.info("%s %s -> 401; renewing the access token once", method, redact_url(url))
                    self.auth.refresh(response.request)
                    continue
                error = classify(response)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as failure:
                if not resend_safe and _may_have_been_applied(failure):
                    raise OutcomeUnknown(
                        f"{method} {redact_url(url)}: the connection broke after the request was sent "
                        f"({type(failure).__name__}); it may have been applied, so it is not sent again"
                    ) from failure
                error = TransientServiceError(f"{type(failure).__name__}: {failure}")
            except TransientServiceError as failure:  # token endpoint unreachable
                error = failure
            if error is None:
                return response
            if not isinstance(error, TransientServiceError):
                raise error
            retry_number += 1
            pause = self.retry.wait(retry_number, error.retry_after)
            if retry_number > self.retry.max_retries or waited + pause > self.retry.max_total_wait:
                raise ServiceUnavailable(
                    f"{method} {redact_url(url)} still failing after {retry_number - 1} retries "
                    f"({waited:.1f}s waited): {error}"
                ) from error
            log.warning(
                "%s %s -> %s; retry %d/%d in %.1fs",
                method,
                redact_url(url),
                error.status or "no response",
                retry_number,
                self.retry.max_retries,
                pause,
            )
            self._sleep(pause)
            waited += pause

    def _send(
        self, method: str, url: str, *, json: Any, data: bytes | None, headers: Mapping[str, str]
    ) -> requests.Response:
        with self._slots:
            return self.session.request(
                method, url, json=json, data=data, headers=headers, auth=self.auth, timeout=self.timeout
            )

    def get_json(self, path_or_url: str, *, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self.decode(self.request("GET", path_or_url, headers=headers))

    @staticmethod
    def decode(response: requests.Response) -> dict[str, Any]:
        """The JSON object of a response (`{}` for an empty body)."""
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError as error:
            raise UnexpectedResponse(f"expected JSON from {redact_url(response.url)}: {error}") from error
        if not isinstance(body, dict):
            raise UnexpectedResponse(f"expected a JSON object from {redact_url(response.url)}")
        return body


def _may_have_been_applied(failure: Exception) -> bool:
    """False only when the request certainly never reached the service (no connection was made)."""
    if isinstance(failure, requests.ConnectTimeout):
        return False
    reason = getattr(failure.args[0], "reason", None) if failure.args else None
    return not isinstance(reason, urllib3.exceptions.NewConnectionError)
