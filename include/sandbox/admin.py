"""The `/_sandbox/` admin routes on every service port: health, reset, protection and faults, stats.

Not real-service paths and not authenticated: the sandbox is a local tool. Tests assert wire
behaviour through the stats (requests per method, status and path template).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Body, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.entra import EntraError, TokenIssuer
from sandbox.protection import ADMIN_PREFIX, ConnectionDropped, FaultRule, ServiceProtection, merge_config

_KEY_PREDICATE = re.compile(r"\([^)]*\)")
_GUID_SEGMENT = re.compile(
    r"/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?=/|$)"
)


def path_template(path: str) -> str:
    """`/api/data/v9.2/accounts(1f...)` → `/api/data/v9.2/accounts({key})`; GUID segments → `{id}`."""
    return _GUID_SEGMENT.sub("/{id}", _KEY_PREDICATE.sub("({key})", path))


class RequestStats:
    """Requests answered by one service since start or the last reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.since = dt.datetime.now(dt.UTC)
            self.by_method: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.by_route: dict[str, Counter[str]] = {}

    def record(self, method: str, path: str, status: str) -> None:
        route = f"{method} {path_template(path)}"
        with self._lock:
            self.by_method[method] += 1
            self.by_status[status] += 1
            self.by_route.setdefault(route, Counter())[status] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "since": self.since.isoformat().replace("+00:00", "Z"),
                "total": sum(self.by_method.values()),
                "by_method": dict(self.by_method),
                "by_status": dict(self.by_status),
                "by_route": {route: dict(statuses) for route, statuses in sorted(self.by_route.items())},
            }


class StatsMiddleware:
    """Outermost wrapper of a service: counts every non-admin request by the status the client saw."""

    def __init__(self, app: ASGIApp, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        status = "500"

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        except ConnectionDropped:
            status = "dropped"
            raise
        finally:
            self.stats.record(scope["method"], scope["path"], status)


class FaultRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[FaultRule]


class TokenOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str
    lifetime: int | None = None  # seconds; negative = already expired


# Handlers are `async` on purpose: they then run on the event loop, like the middleware whose state
# they change, so no lock is needed around rules and budgets.
def create_admin_app(
    service: str,
    stats: RequestStats,
    *,
    protection: ServiceProtection | None = None,
    issuer: TokenIssuer | None = None,
    reset: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> FastAPI:
    """Admin routes for one port; protection routes when the port has protection, token when Entra,
    reset when the server gives one (it resets the whole sandbox, whichever port is asked)."""
    app = FastAPI(title=f"Sandbox admin ({service})", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/_sandbox/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/_sandbox/stats")
    async def get_stats() -> dict[str, Any]:
        snapshot = stats.snapshot()
        if protection is not None:
            snapshot["faults_injected"] = dict(protection.faults_injected)
        return snapshot

    @app.post("/_sandbox/stats/reset")
    async def reset_stats() -> dict[str, Any]:
        stats.reset()
        if protection is not None:
            protection.faults_injected.clear()
        return stats.snapshot()

    if reset is not None:

        @app.post("/_sandbox/reset")
        async def reset_sandbox() -> dict[str, Any]:
            return await reset()

    if protection is not None:
        _add_protection_routes(app, protection)
    if issuer is not None:
        _add_token_route(app, issuer)
    return app


def _add_protection_routes(app: FastAPI, protection: ServiceProtection) -> None:
    @app.get("/_sandbox/protection")
    async def get_protection() -> dict[str, Any]:
        return protection.config.model_dump()

    @app.put("/_sandbox/protection")
    async def put_protection(overrides: dict[str, Any] = Body(...)) -> JSONResponse:
        # Partial update: only the fields given change; usage counters restart from now.
        try:
            config = merge_config(protection.config, overrides)
        except ValidationError as error:
            return _admin_error(400, "InvalidProtectionConfig", str(error))
        protection.configure(config)
        return JSONResponse(config.model_dump())

    @app.get("/_sandbox/faults")
    async def get_faults() -> dict[str, Any]:
        return {"rules": [rule.model_dump() for rule in protection.rules]}

    @app.post("/_sandbox/faults")
    async def post_faults(body: dict[str, Any] = Body(...)) -> JSONResponse:
        try:
            rules = FaultRules.model_validate(body).rules
        except ValidationError as error:
            return _admin_error(400, "InvalidFaultRules", str(error))
        protection.set_rules(rules)
        return JSONResponse({"rules": [rule.model_dump() for rule in protection.rules]})

    @app.delete("/_sandbox/faults")
    async def delete_faults() -> dict[str, Any]:
        protection.set_rules([])
        return {"rules": []}


class TokenLifetime(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(ge=1)


def _add_token_route(app: FastAPI, issuer: TokenIssuer) -> None:
    @app.get("/_sandbox/token-lifetime")
    async def get_token_lifetime() -> dict[str, int]:
        return {"seconds": issuer.lifetime}

    @app.put("/_sandbox/token-lifetime")
    async def put_token_lifetime(body: dict[str, Any] = Body(...)) -> JSONResponse:
        # Tokens issued from now on live this long (already issued ones keep their expiry).
        try:
            issuer.lifetime = TokenLifetime.model_validate(body).seconds
        except ValidationError as error:
            return _admin_error(400, "InvalidTokenLifetime", str(error))
        return JSONResponse({"seconds": issuer.lifetime})

    @app.post("/_sandbox/token")
    async def issue_token(order: TokenOrder) -> JSONResponse:
        try:
            audience = issuer.resource_for_scope(order.scope)
        except EntraError as error:
            return error.response()
        issued = issuer.issue(audience, order.lifetime)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "access_token": issued.access_token,
                "expires_in": issued.expires_in,
                "claims": issued.claims,
            }
        )


def _admin_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
