"""The HTTPS transport both hooks share: default headers, timeouts, bearer auth, bounded concurrency and
retries, over the pooled session the hook built.

Every request goes through `ServiceTransport.request`, which asks `errors.classify` what a response means
and either returns it, retries it (`retry.RetryPolicy`: `Retry-After` first, else backoff with jitter),
or raises the typed error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
import urllib3
from tenacity import RetryCallState

from bcsync.wire import json_body
from bcsync.wire.auth import BearerAuth
from bcsync.wire.clock import ServiceClock
from bcsync.wire.errors import (
    ConfigurationError,
    OutcomeUnknown,
    ServiceUnavailable,
    TransientServiceError,
    UnexpectedResponse,
    classify,
)
from bcsync.wire.retry import RetryPolicy, last_failure

log = logging.getLogger(__name__)

ODATA_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
_BROKEN_CONNECTION = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def redact_url(url: str) -> str:
    """The URL without query string or credentials, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class ServiceTransport:
    """Sends requests to one service (one base URL, one token scope).

    :param base_url: every relative URL is resolved against it; absolute URLs must share its origin.
    :param session: the pooled session (the hook builds it: TLS trust, adapter, no environment settings).
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
        self.clock = ServiceClock()  # the service's clock, from its responses' Date headers
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
        headers = {**self.headers, **(headers or {})}
        if json is not None:
            # Encoded once here, not by requests at each attempt (see `json_body`).
            if data is not None:
                raise ConfigurationError("a request has a JSON body or data, not both")
            data = json_body.encode(json)
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = json_body.CONTENT_TYPE
        exchange = _Exchange(
            self,
            method,
            self.url(path_or_url),
            data=data,
            headers=headers,
            resend_safe=method.upper() != "POST" if resend_safe is None else resend_safe,
        )
        retrying = self.retry.retrying(
            sleep=self._sleep, before_sleep=exchange.log_retry, give_up=exchange.give_up
        )
        return retrying(exchange.attempt)

    def send(
        self, method: str, url: str, *, data: bytes | None, headers: Mapping[str, str]
    ) -> requests.Response:
        """One HTTP exchange, holding one of the transport's in-flight slots; no retry, no checks."""
        with self._slots:
            response = self.session.request(
                method, url, data=data, headers=headers, auth=self.auth, timeout=self.timeout
            )
        self.clock.observe(response.headers.get("Date"), received=time.time())
        return response

    def get_json(self, path_or_url: str, *, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self.decode(self.request("GET", path_or_url, headers=headers))

    @staticmethod
    def decode(response: requests.Response) -> dict[str, Any]:
        """The JSON object of a response (`{}` for an empty body)."""
        if not response.content:
            return {}
        try:
            body = json_body.decode(response.content)
        except ValueError as error:
            raise UnexpectedResponse(f"expected JSON from {redact_url(response.url)}: {error}") from error
        if not isinstance(body, dict):
            raise UnexpectedResponse(f"expected a JSON object from {redact_url(response.url)}")
        return body


class _Exchange:
    """One logical request and its attempts: what the retry policy calls, logs and gives up on."""

    def __init__(
        self,
        transport: ServiceTransport,
        method: str,
        url: str,
        *,
        data: bytes | None,
        headers: Mapping[str, str],
        resend_safe: bool,
    ) -> None:
        self.transport = transport
        self.method = method
        self.url = url
        self.data = data
        self.headers = headers
        self.resend_safe = resend_safe
        self.refreshed = False

    def attempt(self) -> requests.Response:
        """Send once (twice when a 401 asks for a new token); raise the classified error, if any."""
        try:
            response = self._send()
            if response.status_code == 401 and not self.refreshed:
                # Tokens can be revoked or expire early: renew once per request, then believe the 401.
                self.refreshed = True
                log.info("%s %s -> 401; renewing the access token once", self.method, redact_url(self.url))
                self.transport.auth.refresh(response.request)
                response = self._send()
        except _BROKEN_CONNECTION as failure:
            if not self.resend_safe and _may_have_been_applied(failure):
                raise OutcomeUnknown(
                    f"{self.method} {redact_url(self.url)}: the connection broke after the request was "
                    f"sent ({type(failure).__name__}); it may have been applied, so it is not sent again"
                ) from failure
            raise TransientServiceError(f"{type(failure).__name__}: {failure}") from failure
        error = classify(response)
        if error is not None:
            raise error
        return response

    def _send(self) -> requests.Response:
        return self.transport.send(self.method, self.url, data=self.data, headers=self.headers)

    def log_retry(self, retry_state: RetryCallState) -> None:
        log.warning(
            "%s %s -> %s; retry %d/%d in %.1fs",
            self.method,
            redact_url(self.url),
            last_failure(retry_state).status or "no response",
            retry_state.attempt_number,
            self.transport.retry.max_retries,
            retry_state.upcoming_sleep,
        )

    def give_up(self, retry_state: RetryCallState) -> NoReturn:
        failure = last_failure(retry_state)
        raise ServiceUnavailable(
            f"{self.method} {redact_url(self.url)} still failing after {retry_state.attempt_number - 1} "
            f"retries ({retry_state.idle_for:.1f}s waited): {failure}"
        ) from failure


def _may_have_been_applied(failure: Exception) -> bool:
    """False only when the request certainly never reached the service (no connection was made)."""
    if isinstance(failure, requests.ConnectTimeout):
        return False
    reason = getattr(failure.args[0], "reason", None) if failure.args else None
    return not isinstance(reason, urllib3.exceptions.NewConnectionError)
