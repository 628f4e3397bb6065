"""Builds the three local services (Entra ID, Dataverse, Business Central) and serves them over HTTPS.

One process, one event loop, three uvicorn servers. Each service port answers `/_sandbox/` admin
routes itself and passes everything else through stats → bearer auth → protection → the service app.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

import anyio.to_thread
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import entra
from sandbox.admin import RequestStats, StatsMiddleware, create_admin_app
from sandbox.auth import BC_AUTH_CODES, DATAVERSE_AUTH_CODES, BearerAuthMiddleware, TokenVerifier
from sandbox.context import ServiceContext
from sandbox.entra import SigningKey, TokenIssuer
from sandbox.protection import (
    ADMIN_PREFIX,
    DroppedConnectionLogFilter,
    ProtectionConfig,
    ProtectionMiddleware,
    ServiceKind,
    ServiceProtection,
    default_config,
    merge_config,
)
from sandbox.settings import SandboxSettings, SettingsError
from sandbox.storage.database import Database
from sandbox.storage.repository import Repository
from sandbox.storage.schema import EntitySchema
from sandbox.tls import TlsFiles, ensure_certificates

log = logging.getLogger("sandbox")

# Sync endpoints run in anyio's thread pool; its default of 40 would cap concurrency below what
# Dataverse clients use (up to 52 in parallel) and starve BC's queue tests.
WORKER_THREADS = 96
SERVICE_EXPORTS = ("SCHEMAS", "create_app", "error_response")


class ServiceModule(Protocol):
    """What `sandbox.dataverse` and `sandbox.bc` export."""

    SCHEMAS: tuple[EntitySchema, ...]

    def create_app(self, context: ServiceContext) -> FastAPI: ...

    def error_response(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Response: ...


@dataclass
class ServicePort:
    """One HTTPS listener: a service app behind its middleware, with admin routes beside it."""

    name: str
    port: int
    url: str
    app: ASGIApp
    stats: RequestStats
    protection: ServiceProtection | None = None


@dataclass
class Sandbox:
    settings: SandboxSettings
    tls: TlsFiles
    ports: list[ServicePort]
    repository: Repository
    database: Database
    issuer: TokenIssuer
    was_empty: bool = False
    # Each service module with the context its app was built from (reset builds them again).
    services: list[tuple[ServiceModule, ServiceContext]] = field(default_factory=list)
    reset_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def port(self, name: str) -> ServicePort:
        return next(p for p in self.ports if p.name == name)


class AdminDispatcher:
    """Sends `/_sandbox/` paths to the admin app and everything else (and lifespan) to the service."""

    def __init__(self, admin: ASGIApp, service: ASGIApp) -> None:
        self.admin = admin
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(ADMIN_PREFIX):
            await self.admin(scope, receive, send)
        else:
            await self.service(scope, receive, send)


def load_service_modules() -> tuple[ServiceModule, ServiceModule]:
    """`sandbox.dataverse` and `sandbox.bc`, checked for the exports the server relies on."""
    modules: list[ModuleType] = []
    for name in ("sandbox.dataverse", "sandbox.bc"):
        module = importlib.import_module(name)
        missing = [export for export in SERVICE_EXPORTS if not hasattr(module, export)]
        if missing:
            raise ImportError(f"{name} does not export {', '.join(missing)} (see docs/architecture.md)")
        modules.append(module)
    return modules[0], modules[1]  # type: ignore[return-value]


def open_storage(settings: SandboxSettings, schemas: tuple[EntitySchema, ...]) -> tuple[Database, Repository]:
    """The database (tables created) and repository shared by both services."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.db_url, schemas)
    database.create_all()
    return database, Repository(database)


def is_empty(repository: Repository, schemas: tuple[EntitySchema, ...]) -> bool:
    """No data yet; BC company rows do not count (the BC app creates them on every start)."""
    return all(
        repository.count(schema) == 0
        for schema in schemas
        if (schema.service, schema.logical_name) != ("bc", "company")
    )


def build_sandbox(
    settings: SandboxSettings,
    *,
    services: tuple[ServiceModule, ServiceModule] | None = None,
    seed_if_empty: bool = True,
) -> Sandbox:
    """Certificates, signing key, storage and the three wrapped apps; seeds an empty database."""
    dataverse, bc = services or load_service_modules()
    tls = ensure_certificates(settings.data_dir, settings.host)
    issuer = TokenIssuer(settings, SigningKey.load_or_create(settings.data_dir))
    schemas = tuple(dataverse.SCHEMAS) + tuple(bc.SCHEMAS)
    database, repository = open_storage(settings, schemas)
    sandbox = Sandbox(settings, tls, [], repository, database, issuer, is_empty(repository, schemas))

    async def reset() -> dict[str, Any]:
        return await reset_sandbox(sandbox)

    entra_stats = RequestStats()
    sandbox.ports.append(
        ServicePort(
            name="entra",
            port=settings.entra_port,
            url=settings.entra_url,
            app=AdminDispatcher(
                create_admin_app("entra", entra_stats, issuer=issuer, reset=reset),
                StatsMiddleware(entra.create_app(settings, issuer), entra_stats),
            ),
            stats=entra_stats,
        )
    )
    for kind, module, port, url in (
        ("dataverse", dataverse, settings.dataverse_port, settings.dataverse_url),
        ("bc", bc, settings.bc_port, settings.bc_url),
    ):
        context = ServiceContext(
            settings=settings,
            repository=repository,
            schemas={schema.set_name: schema for schema in module.SCHEMAS},
            base_url=url,
        )
        sandbox.services.append((module, context))
        app = module.create_app(context)
        sandbox.ports.append(_service_port(kind, module, app, settings, issuer, port, url, reset))

    if seed_if_empty and sandbox.was_empty and settings.seed_customers > 0:
        seed_database(sandbox)
    return sandbox


def start_protection(kind: ServiceKind, settings: SandboxSettings) -> ProtectionConfig:
    """A service's protection config at start: its defaults merged with the SANDBOX_*_PROTECTION overrides."""
    overrides = settings.dataverse_protection if kind == "dataverse" else settings.bc_protection
    try:
        return merge_config(default_config(kind), overrides)
    except ValidationError as error:
        raise SettingsError(f"SANDBOX_{kind.upper()}_PROTECTION is not valid: {error}") from error


def reset_data(sandbox: Sandbox) -> None:
    """The database as a first start on an empty data dir leaves it: every row deleted, the service
    apps' start-up rows written again (BC's company), then the seed of the start settings."""
    with sandbox.reset_lock:  # two resets at once would seed twice
        sandbox.database.clear()
        for module, context in sandbox.services:
            module.create_app(context)  # built only for the rows it writes when created; then dropped
        if sandbox.settings.seed_customers > 0:
            seed_database(sandbox)


async def reset_sandbox(sandbox: Sandbox) -> dict[str, Any]:
    """`POST /_sandbox/reset`: the seeded data, and every port's stats, rules and protection as at start."""
    started = time.monotonic()
    # The database work blocks (seeding takes a while for big seeds): a worker thread, not the loop.
    await anyio.to_thread.run_sync(reset_data, sandbox)
    # Run-time state changes on the event loop, as the other admin routes do (no locks needed).
    sandbox.issuer.lifetime = sandbox.settings.token_lifetime
    for port in sandbox.ports:
        port.stats.reset()
        if port.protection is not None:
            port.protection.set_rules([])
            port.protection.faults_injected.clear()
            port.protection.configure(start_protection(port.protection.kind, sandbox.settings))
    settings = sandbox.settings
    return {
        "customers": settings.seed_customers,
        "seed": settings.seed,
        "seconds": round(time.monotonic() - started, 3),
    }


def _service_port(
    kind: ServiceKind,
    module: ServiceModule,
    app: ASGIApp,
    settings: SandboxSettings,
    issuer: TokenIssuer,
    port: int,
    url: str,
    reset: Callable[[], Awaitable[dict[str, Any]]],
) -> ServicePort:
    stats = RequestStats()
    protection = ServiceProtection(kind, start_protection(kind, settings))
    if kind == "dataverse":
        resource, audiences, codes = (
            settings.dataverse_resource,
            settings.dataverse_audiences,
            DATAVERSE_AUTH_CODES,
        )
    else:
        resource, audiences, codes = settings.bc_resource, frozenset({settings.bc_resource}), BC_AUTH_CODES
    wrapped = protection_then_auth(
        app,
        protection=protection,
        verifier=TokenVerifier(issuer.signing_key.public_key, settings.issuer, settings.tenant_id, audiences),
        resource=resource,
        authorization_uri=f"{settings.entra_url}/{settings.tenant_id}/oauth2/authorize",
        error_response=module.error_response,
        codes=codes,
    )
    admin = create_admin_app(kind, stats, protection=protection, reset=reset)
    return ServicePort(
        kind, port, url, AdminDispatcher(admin, StatsMiddleware(wrapped, stats)), stats, protection
    )


def protection_then_auth(
    app: ASGIApp,
    *,
    protection: ServiceProtection,
    verifier: TokenVerifier,
    resource: str,
    authorization_uri: str,
    error_response: Callable[..., Response],
    codes: Mapping[Any, str],
) -> ASGIApp:
    """Auth outside protection: limits are per principal, so the principal must be known first."""
    protected = ProtectionMiddleware(app, protection=protection, error_response=error_response)
    return BearerAuthMiddleware(
        protected,
        verifier=verifier,
        resource=resource,
        authorization_uri=authorization_uri,
        error_response=error_response,
        codes=dict(codes),
    )


def seed_database(sandbox: Sandbox, *, customers: int | None = None, seed: int | None = None) -> None:
    from sandbox.seed import seed as seed_data

    settings = sandbox.settings
    count = settings.seed_customers if customers is None else customers
    log.info("seeding %d customers (seed %d)", count, settings.seed if seed is None else seed)
    seed_data(
        sandbox.repository, settings=settings, customers=count, seed=settings.seed if seed is None else seed
    )


class _SandboxServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The sandbox handles SIGINT/SIGTERM once for all three servers (see `serve`).
        yield


def _uvicorn_servers(sandbox: Sandbox, graceful_shutdown_seconds: float) -> list[_SandboxServer]:
    servers = []
    for port in sandbox.ports:
        config = uvicorn.Config(
            port.app,
            host=sandbox.settings.host,
            port=port.port,
            ssl_certfile=str(sandbox.tls.cert_file),
            ssl_keyfile=str(sandbox.tls.key_file),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=graceful_shutdown_seconds,
            backlog=512,
        )
        servers.append(_SandboxServer(config))
    logging.getLogger("uvicorn.error").addFilter(DroppedConnectionLogFilter())
    return servers


async def serve(
    sandbox: Sandbox,
    *,
    handle_signals: bool = True,
    on_ready: Callable[[list[_SandboxServer]], None] | None = None,
    graceful_shutdown_seconds: float = 2,
) -> None:
    """Serve all ports until SIGINT/SIGTERM (or until every server's `should_exit` is set)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    servers = _uvicorn_servers(sandbox, graceful_shutdown_seconds)

    def stop(*_: object) -> None:
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    if handle_signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)

    async def announce() -> None:
        while not all(server.started for server in servers):
            if any(server.should_exit for server in servers):
                return
            await asyncio.sleep(0.02)
        for port in sandbox.ports:
            log.info("%-9s %s", port.name, _service_description(sandbox.settings, port))
        if on_ready is not None:
            on_ready(servers)

    try:
        await asyncio.gather(announce(), *(server.serve() for server in servers))
    finally:
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        sandbox.database.dispose()


def _service_description(settings: SandboxSettings, port: ServicePort) -> str:
    if port.name == "entra":
        return f"{settings.token_url}"
    if port.name == "dataverse":
        return f"{port.url}/api/data/v9.2/"
    return f"{port.url}/v2.0/{settings.tenant_id}/{settings.bc_environment}/api/v2.0/"


@contextlib.contextmanager
def serving_in_background(sandbox: Sandbox, *, timeout: float = 30) -> Iterator[Sandbox]:
    """Serve `sandbox` from a thread of this process (in-process tests and benchmarks)."""
    ready = threading.Event()
    servers: list[_SandboxServer] = []
    failure: list[BaseException] = []

    def started(running: list[_SandboxServer]) -> None:
        servers.extend(running)
        ready.set()

    def run() -> None:
        try:
            # Idle keep-alive TLS clients would hold a graceful shutdown for its whole timeout.
            asyncio.run(serve(sandbox, handle_signals=False, on_ready=started, graceful_shutdown_seconds=0.5))
        except BaseException as error:  # reported to the caller below; SystemExit on a busy port too
            failure.append(error)
            ready.set()

    thread = threading.Thread(target=run, name="sandbox-server", daemon=True)
    thread.start()
    if not ready.wait(timeout) or failure:
        raise RuntimeError(f"the sandbox did not start within {timeout}s: {failure[:1]}")
    try:
        yield sandbox
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout)
