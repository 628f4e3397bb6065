"""Service protection limits and fault injection in front of a service, switchable at run time.

Limits follow the real services: Dataverse counts requests and combined execution time per principal
in a sliding window and rejects over-concurrency at once (§A.13); Business Central counts requests per
principal, processes 5 at a time and queues the rest (§B.8). Faults: latency, random 5xx/timeouts,
"commit then drop the connection", and scripted rules for deterministic tests. All off by default.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ServiceKind = Literal["dataverse", "bc"]
ErrorResponder = Callable[..., Response]
ADMIN_PREFIX = "/_sandbox/"


class Limits(BaseModel):
    """Service protection budgets per principal (defaults are the real ones for the service)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    window_seconds: float = Field(300, gt=0)
    max_requests: int = Field(6000, ge=1)
    # Dataverse only: combined execution time per window; None switches the facet off (BC).
    max_execution_seconds: float | None = Field(1200, gt=0)
    max_concurrent: int = Field(52, ge=1)
    # Requests waiting for a processing slot; 0 rejects at once (Dataverse), BC queues 95.
    max_queued: int = Field(0, ge=0)
    queue_timeout_seconds: float = Field(480, gt=0)  # BC: 503 after this long in the queue
    concurrency_retry_after_seconds: int = Field(1, ge=1)


class Faults(BaseModel):
    """Random faults; one seeded draw per request decides which (if any) applies."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(0, ge=0)
    latency_jitter_ms: int = Field(0, ge=0)
    error_rate: float = Field(0, ge=0, le=1)  # half 503 with Retry-After, half 500
    timeout_rate: float = Field(0, ge=0, le=1)  # held for timeout_seconds, then 504 (not executed)
    drop_rate: float = Field(0, ge=0, le=1)  # executed and committed, then the connection drops
    timeout_seconds: float = Field(30, ge=0)
    retry_after_seconds: int = Field(1, ge=0)
    seed: int = 42


class ProtectionConfig(BaseModel):
    """Protection of one service, from SANDBOX_DATAVERSE_PROTECTION / SANDBOX_BC_PROTECTION (partial JSON
    merged onto `default_config`) and changed at run time with `PUT /_sandbox/protection`, e.g.
    `{"limits": {"enabled": true, "max_requests": 100}, "faults": {"latency_ms": 20, "error_rate": 0.01}}`.
    """

    model_config = ConfigDict(extra="forbid")

    limits: Limits
    faults: Faults = Field(default_factory=Faults)


def default_config(kind: ServiceKind) -> ProtectionConfig:
    if kind == "bc":
        limits = Limits(max_execution_seconds=None, max_concurrent=5, max_queued=95)
    else:
        limits = Limits()
    return ProtectionConfig(limits=limits)


def merge_config(base: ProtectionConfig, overrides: Mapping[str, Any]) -> ProtectionConfig:
    """`base` with a partial JSON object applied on top (validation errors name the field)."""
    merged = base.model_dump()
    for section, values in overrides.items():
        if isinstance(values, Mapping) and isinstance(merged.get(section), dict):
            merged[section] = {**merged[section], **values}
        else:
            merged[section] = values
    return ProtectionConfig.model_validate(merged)


class FaultRule(BaseModel):
    """A scripted fault: the next `count` requests matching method and path get `fault`."""

    model_config = ConfigDict(extra="forbid")

    method: str | None = None  # None: any method
    path: str = ".*"  # regular expression searched in the request path
    # delay_after_commit: the request runs and commits, then its answer is held `seconds` (a client
    # killed meanwhile never learns the outcome).
    fault: Literal["status", "drop_after_commit", "timeout", "delay_after_commit"]
    status: int = Field(503, ge=400, le=599)
    count: int | None = Field(1, ge=1)  # None: until the rules are cleared
    retry_after: int | None = Field(1, ge=0)  # sent with 429/503 status faults
    code: str | None = None  # error code in the body; default: the service's generic code
    message: str | None = None
    seconds: float | None = Field(None, ge=0)  # timeout: how long to hold (default faults.timeout_seconds)

    @field_validator("path")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"path is not a valid regular expression: {error}") from error
        return value

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and re.search(
            self.path, path
        ) is not None


# Codes each service uses for throttling and for injected server errors.
THROTTLE_CODES: dict[ServiceKind, dict[str, str]] = {
    "dataverse": {"requests": "0x80072322", "time": "0x80072321", "concurrency": "0x80072326"},
    # BC has no execution-time facet (max_execution_seconds is None by default) and one 429 code.
    "bc": dict.fromkeys(("requests", "time", "queue"), "Application_TooManyRequests"),
}
SERVER_ERROR_CODES: dict[ServiceKind, str] = {"dataverse": "0x80040216", "bc": "Internal_ServerError"}


@dataclass
class PrincipalUsage:
    """What one principal has used inside the current window."""

    started: deque[float] = field(default_factory=deque)
    executions: deque[tuple[float, float]] = field(default_factory=deque)  # (finished at, seconds)
    in_flight: int = 0
    queued: int = 0
    slot_freed: asyncio.Condition | None = None

    def prune(self, now: float, window: float) -> None:
        while self.started and self.started[0] <= now - window:
            self.started.popleft()
        while self.executions and self.executions[0][0] <= now - window:
            self.executions.popleft()

    def execution_seconds(self) -> float:
        return sum(seconds for _, seconds in self.executions)


class Rejection(Exception):
    """A request refused by a limit or a scripted/random fault, before the service runs it."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class ConnectionDropped(Exception):
    """Raised after a partial response so the server closes the connection (a deliberate fault)."""


class DroppedConnectionLogFilter(logging.Filter):
    """Keeps deliberate connection drops out of uvicorn's 'Exception in ASGI application' log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


class ServiceProtection:
    """Run-time protection state of one service: its config, scripted rules, usage and fault counts."""

    def __init__(self, kind: ServiceKind, config: ProtectionConfig) -> None:
        self.kind = kind
        self.rules: list[FaultRule] = []
        self.faults_injected: dict[str, int] = {}
        self.configure(config)

    def configure(self, config: ProtectionConfig) -> None:
        """Replace the config; usage and the fault RNG start afresh so budgets apply from now."""
        self.config = config
        self.random = random.Random(config.faults.seed)
        self.usage: dict[str, PrincipalUsage] = {}

    def set_rules(self, rules: list[FaultRule]) -> None:
        self.rules = list(rules)

    def take_rule(self, method: str, path: str) -> FaultRule | None:
        for index, rule in enumerate(self.rules):
            if rule.matches(method, path):
                if rule.count is not None:
                    remaining = rule.count - 1
                    if remaining:
                        self.rules[index] = rule.model_copy(update={"count": remaining})
                    else:
                        del self.rules[index]
                return rule
        return None

    def count_fault(self, name: str) -> None:
        self.faults_injected[name] = self.faults_injected.get(name, 0) + 1

    def usage_of(self, principal: str) -> PrincipalUsage:
        return self.usage.setdefault(principal, PrincipalUsage())


class ProtectionMiddleware:
    """ASGI middleware applying a `ServiceProtection` to every non-admin request."""

    def __init__(
        self, app: ASGIApp, *, protection: ServiceProtection, error_response: ErrorResponder
    ) -> None:
        self.app = app
        self.protection = protection
        self.error_response = error_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        protection = self.protection
        try:
            rule = protection.take_rule(scope["method"], scope["path"])
            if rule is not None:
                await self._scripted(rule, scope, receive, send)
                return
            if protection.config.limits.enabled:
                await self._limited(scope, receive, send)
            else:
                await self._faulty(scope, receive, send)
        except Rejection as rejection:
            await self._reject(rejection, scope, receive, send)

    # -- scripted faults -------------------------------------------------------------------------------

    async def _scripted(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        if rule.fault == "delay_after_commit":
            await self._run_then_delay(scope, receive, send, rule.seconds or 0)
            return
        self.protection.count_fault(f"scripted_{rule.fault}")
        if rule.fault == "drop_after_commit":
            await self._run_then_drop(scope, receive, send)
        elif rule.fault == "timeout":
            await self._hold(
                rule.seconds if rule.seconds is not None else self.protection.config.faults.timeout_seconds
            )
        else:
            retry_after = rule.retry_after if rule.status in (429, 503) else None
            raise Rejection(
                rule.status,
                rule.code or SERVER_ERROR_CODES[self.protection.kind],
                rule.message or f"Injected fault: status {rule.status}.",
                retry_after,
            )

    # -- limits ----------------------------------------------------------------------------------------

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.protection.config.limits
        usage = self.protection.usage_of(_principal_key(scope))
        now = time.monotonic()
        usage.prune(now, limits.window_seconds)
        codes = THROTTLE_CODES[self.protection.kind]
        if len(usage.started) >= limits.max_requests:
            raise Rejection(
                429,
                codes["requests"],
                f"Number of requests exceeded the limit of {limits.max_requests} over time window of "
                f"{limits.window_seconds:g} seconds.",
                _seconds_until(usage.started[0] + limits.window_seconds, now),
            )
        if (
            limits.max_execution_seconds is not None
            and usage.execution_seconds() >= limits.max_execution_seconds
        ):
            raise Rejection(
                429,
                codes["time"],
                "Combined execution time of incoming requests exceeded limit of "
                f"{limits.max_execution_seconds * 1000:,.0f} milliseconds over time window of "
                f"{limits.window_seconds:g} seconds. Decrease number of concurrent requests or reduce the "
                "duration of requests and try again later.",
                _seconds_until(usage.executions[0][0] + limits.window_seconds, now),
            )
        await self._acquire_slot(usage, limits)
        started = time.monotonic()
        usage.started.append(started)
        try:
            await self._faulty(scope, receive, self._with_rate_headers(send, usage, limits))
        finally:
            finished = time.monotonic()
            usage.executions.append((finished, finished - started))
            await self._release_slot(usage)

    async def _acquire_slot(self, usage: PrincipalUsage, limits: Limits) -> None:
        """Take a processing slot, waiting in the principal's queue (BC) or failing at once (Dataverse)."""
        if usage.in_flight < limits.max_concurrent:
            usage.in_flight += 1
            return
        if usage.queued >= limits.max_queued:
            raise self._over_concurrency(usage, limits)
        if usage.slot_freed is None:
            usage.slot_freed = asyncio.Condition()
        usage.queued += 1
        try:
            async with usage.slot_freed:
                await asyncio.wait_for(
                    usage.slot_freed.wait_for(lambda: usage.in_flight < limits.max_concurrent),
                    timeout=limits.queue_timeout_seconds,
                )
                usage.in_flight += 1
        except TimeoutError as error:
            raise Rejection(
                503,
                SERVER_ERROR_CODES[self.protection.kind],
                f"The request waited longer than {limits.queue_timeout_seconds:g} seconds in the queue.",
                limits.concurrency_retry_after_seconds,
            ) from error
        finally:
            usage.queued -= 1

    def _over_concurrency(self, usage: PrincipalUsage, limits: Limits) -> Rejection:
        codes = THROTTLE_CODES[self.protection.kind]
        if self.protection.kind == "dataverse":
            code = codes["concurrency"]
            message = f"Number of concurrent requests exceeded the limit of {limits.max_concurrent}."
        else:
            code = codes["queue"]
            message = (
                f"Too many requests: {limits.max_concurrent} are being processed and {usage.queued} are "
                f"queued for this user (maximum {limits.max_queued})."
            )
        return Rejection(429, code, message, limits.concurrency_retry_after_seconds)

    async def _release_slot(self, usage: PrincipalUsage) -> None:
        usage.in_flight -= 1
        if usage.slot_freed is not None:
            async with usage.slot_freed:
                usage.slot_freed.notify(1)

    def _with_rate_headers(self, send: Send, usage: PrincipalUsage, limits: Limits) -> Send:
        if self.protection.kind != "dataverse":
            return send

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                remaining_requests = max(limits.max_requests - len(usage.started), 0)
                budget = limits.max_execution_seconds or 0
                remaining_ms = max(budget - usage.execution_seconds(), 0) * 1000
                headers = list(message.get("headers", []))
                headers.append(
                    (b"x-ms-ratelimit-burst-remaining-xrm-requests", str(remaining_requests).encode())
                )
                headers.append(
                    (b"x-ms-ratelimit-time-remaining-xrm-requests", f"{remaining_ms:,.2f}".encode())
                )
                message = {**message, "headers": headers}
            await send(message)

        return send_with_headers

    # -- random faults ---------------------------------------------------------------------------------

    async def _faulty(self, scope: Scope, receive: Receive, send: Send) -> None:
        protection = self.protection
        faults = protection.config.faults
        if faults.latency_ms or faults.latency_jitter_ms:
            await asyncio.sleep(
                (faults.latency_ms + protection.random.uniform(0, faults.latency_jitter_ms)) / 1000
            )
        if faults.error_rate or faults.timeout_rate or faults.drop_rate:
            draw = protection.random.random()
            if draw < faults.error_rate:
                status = 503 if protection.random.random() < 0.5 else 500
                protection.count_fault(f"random_{status}")
                raise Rejection(
                    status,
                    SERVER_ERROR_CODES[protection.kind],
                    "Injected fault: the service is temporarily unavailable."
                    if status == 503
                    else "Injected fault: an unexpected error occurred.",
                    faults.retry_after_seconds if status == 503 else None,
                )
            if draw < faults.error_rate + faults.timeout_rate:
                protection.count_fault("random_timeout")
                await self._hold(faults.timeout_seconds)
            if draw < faults.error_rate + faults.timeout_rate + faults.drop_rate:
                protection.count_fault("random_drop_after_commit")
                await self._run_then_drop(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _hold(self, seconds: float) -> None:
        """Hold the request (the client's read timeout should fire first), then give up with 504."""
        await asyncio.sleep(seconds)
        raise Rejection(
            504, SERVER_ERROR_CODES[self.protection.kind], "Injected fault: the request timed out."
        )

    async def _run_then_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request to completion (its writes commit), then break the connection mid-response."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        status = start["status"] if start else 200
        if status in (204, 304) or status < 200:
            status = 200  # these statuses have no body, so a short body could not be noticed
        headers = [(k, v) for k, v in (start or {}).get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body) + 1).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise ConnectionDropped(f"{scope['method']} {scope['path']}: connection dropped after commit")

    async def _run_then_delay(self, scope: Scope, receive: Receive, send: Send, seconds: float) -> None:
        """Run the request to completion (its writes commit), count the fault (so a test sees the
        commit), then hold the answer for `seconds` before sending it."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        self.protection.count_fault("scripted_delay_after_commit")
        await asyncio.sleep(seconds)
        for message in messages:
            await send(message)

    async def _reject(self, rejection: Rejection, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {"Retry-After": str(rejection.retry_after)} if rejection.retry_after is not None else None
        response = self.error_response(rejection.status, rejection.code, rejection.message, headers)
        await response(scope, receive, send)


def _principal_key(scope: Scope) -> str:
    principal = scope.get("state", {}).get("principal")
    if principal is not None:
        return principal.object_id
    client = scope.get("client")
    return f"anonymous:{client[0] if client else '?'}"


def _seconds_until(moment: float, now: float) -> int:
    return max(math.ceil(moment - now), 1)
