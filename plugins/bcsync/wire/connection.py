"""Reads an Airflow Connection into the settings a BC or Dataverse hook needs, with clear errors.

host = service base URL, login = client id, password = client secret; the rest are extras
(documented in docs/connections.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from bcsync.wire.auth import default_authority
from bcsync.wire.errors import ConfigurationError


class AirflowConnection(Protocol):
    """The parts of `airflow.sdk.Connection` we read (tests may pass any object with these)."""

    conn_id: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ServiceConnection:
    """Validated settings of one service connection; the secret never appears in `repr`."""

    conn_id: str
    base_url: str
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    authority: str = ""
    scope: str = ""
    ca_bundle: str | None = None
    page_size: int | None = None
    timeout: float = 100.0
    max_retries: int = 5
    max_concurrency: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_airflow(
        cls, conn: AirflowConnection, *, default_host: str = "", default_scope: Callable[[str], str]
    ) -> ServiceConnection:
        extra = dict(conn.extra_dejson or {})
        name = conn.conn_id or "<unnamed>"
        base_url = _base_url(name, conn.host or default_host, conn.port)
        tenant_id = str(extra.get("tenant_id") or "").strip()
        if not tenant_id:
            raise ConfigurationError(f"connection {name!r}: extra 'tenant_id' is required")
        if not conn.login or not conn.password:
            raise ConfigurationError(
                f"connection {name!r}: login (client id) and password (client secret) are required"
            )
        max_retries = _number(name, extra, "max_retries", int, minimum=0)
        ca_bundle = extra.get("ca_bundle") or None
        if ca_bundle and not os.path.isfile(ca_bundle):
            raise ConfigurationError(f"connection {name!r}: ca_bundle {ca_bundle!r} is not a file")
        return cls(
            conn_id=name,
            base_url=base_url,
            tenant_id=tenant_id,
            client_id=conn.login,
            client_secret=conn.password,
            authority=str(extra.get("authority") or default_authority(tenant_id)).rstrip("/"),
            scope=str(extra.get("scope") or default_scope(base_url)),
            ca_bundle=ca_bundle,
            page_size=_number(name, extra, "page_size", int),
            timeout=_number(name, extra, "timeout", float) or 100.0,
            max_retries=5 if max_retries is None else max_retries,
            max_concurrency=_number(name, extra, "max_concurrency", int),
            extra=extra,
        )

    def require(self, key: str) -> str:
        """A required extra as text, or a ConfigurationError naming the connection and the key."""
        value = str(self.extra.get(key) or "").strip()
        if not value:
            raise ConfigurationError(f"connection {self.conn_id!r}: extra {key!r} is required")
        return value


def _base_url(name: str, host: str, port: int | None) -> str:
    host = host.strip().rstrip("/")
    if not host:
        raise ConfigurationError(f"connection {name!r}: host (the service base URL) is required")
    url = host if "://" in host else f"https://{host}"
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigurationError(f"connection {name!r}: host must be an https URL, got {host!r}")
    if port and not parts.port:
        url = f"{parts.scheme}://{parts.netloc}:{port}{parts.path}"
    return url


def _number(
    name: str, extra: Mapping[str, Any], key: str, kind: type[int] | type[float], minimum: float = 1
) -> Any:
    if extra.get(key) in (None, ""):
        return None
    try:
        value = kind(extra[key])
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"connection {name!r}: extra {key!r} must be a number") from error
    if value < minimum:
        raise ConfigurationError(f"connection {name!r}: extra {key!r} must be >= {minimum}")
    return value
