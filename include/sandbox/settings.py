"""Settings of the local services, read once from `SANDBOX_*` environment variables.

Every variable is optional; the defaults give a working sandbox on 127.0.0.1 (see docs/sandbox.md).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Local-only identities: fixed so a restart keeps tokens, connections and seed data valid.
DEFAULT_TENANT_ID = "7c3a1f52-0b6e-4d8e-9a51-2f4c8b6d9e10"
DEFAULT_CLIENT_ID = "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
DEFAULT_CLIENT_SECRET = "sandbox-local-only-secret"  # not a credential: the sandbox is local-only
DEFAULT_COMPANY_ID = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
BC_RESOURCE = "https://api.businesscentral.dynamics.com"


class SettingsError(ValueError):
    """An environment variable has a value the sandbox cannot use."""


@dataclass(frozen=True)
class SandboxSettings:
    """Where the three services listen, who may call them, and how they behave.

    Environment variables (defaults in brackets):
      SANDBOX_HOST [127.0.0.1], SANDBOX_ENTRA_PORT [8440], SANDBOX_DATAVERSE_PORT [8441],
      SANDBOX_BC_PORT [8442], SANDBOX_DATA_DIR [./var/sandbox] (database, CA, certificates, signing key),
      SANDBOX_DB_URL [sqlite file sandbox.db in the data dir], SANDBOX_TENANT_ID, SANDBOX_CLIENT_ID,
      SANDBOX_CLIENT_SECRET [fixed local-only values], SANDBOX_BC_ENVIRONMENT [production],
      SANDBOX_BC_COMPANY_ID, SANDBOX_BC_COMPANY_NAME [CRONUS USA, Inc.], SANDBOX_SEED_CUSTOMERS [50],
      SANDBOX_SEED [42], SANDBOX_TOKEN_LIFETIME [3599 seconds],
      SANDBOX_DATAVERSE_PROTECTION / SANDBOX_BC_PROTECTION [off]: JSON objects, partial, merged onto the
      defaults of `sandbox.protection.ProtectionConfig`, e.g. `{"limits": {"enabled": true}}`.
    """

    host: str = "127.0.0.1"
    entra_port: int = 8440
    dataverse_port: int = 8441
    bc_port: int = 8442
    data_dir: Path = Path("var/sandbox")
    db_url: str = ""
    tenant_id: str = DEFAULT_TENANT_ID
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    bc_environment: str = "production"
    company_id: str = DEFAULT_COMPANY_ID
    company_name: str = "CRONUS USA, Inc."
    seed_customers: int = 50
    seed: int = 42
    token_lifetime: int = 3599
    # Partial protection overrides per service (validated by sandbox.protection.ProtectionConfig).
    dataverse_protection: Mapping[str, Any] = field(default_factory=dict)
    bc_protection: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if not self.db_url:
            object.__setattr__(self, "db_url", f"sqlite:///{(self.data_dir / 'sandbox.db').resolve()}")
        for name in ("entra_port", "dataverse_port", "bc_port"):
            port = getattr(self, name)
            if not 0 < port < 65536:
                raise SettingsError(f"{name} must be a TCP port (1-65535), got {port}")
        if self.token_lifetime <= 0:
            raise SettingsError(f"SANDBOX_TOKEN_LIFETIME must be positive, got {self.token_lifetime}")
        if self.seed_customers < 0:
            raise SettingsError(f"SANDBOX_SEED_CUSTOMERS must be >= 0, got {self.seed_customers}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxSettings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable, kind in _VARIABLES:
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            values[name] = _convert(variable, raw, kind)
        return cls(**values)

    # -- derived -------------------------------------------------------------------------------------

    @property
    def url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def entra_url(self) -> str:
        return f"https://{self.url_host}:{self.entra_port}"

    @property
    def dataverse_url(self) -> str:
        """The Dataverse environment URL; also its token resource (`<url>/.default`)."""
        return f"https://{self.url_host}:{self.dataverse_port}"

    @property
    def bc_url(self) -> str:
        return f"https://{self.url_host}:{self.bc_port}"

    @property
    def bc_resource(self) -> str:
        return BC_RESOURCE

    @property
    def dataverse_resource(self) -> str:
        return self.dataverse_url

    @property
    def dataverse_audiences(self) -> frozenset[str]:
        """Accepted spellings of the Dataverse resource (127.0.0.1 and localhost name the same server)."""
        spellings = {self.dataverse_url}
        if self.host in ("127.0.0.1", "localhost", "::1"):
            spellings |= {f"https://{h}:{self.dataverse_port}" for h in ("127.0.0.1", "localhost", "[::1]")}
        return frozenset(spellings)

    @property
    def service_principal_id(self) -> str:
        """The object id of the app's service principal (stable for a client id)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-service-principal:{self.client_id}"))

    @property
    def issuer(self) -> str:
        return f"{self.entra_url}/{self.tenant_id}/v2.0"

    @property
    def token_url(self) -> str:
        return f"{self.entra_url}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "ca.pem"


_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("host", "SANDBOX_HOST", "str"),
    ("entra_port", "SANDBOX_ENTRA_PORT", "int"),
    ("dataverse_port", "SANDBOX_DATAVERSE_PORT", "int"),
    ("bc_port", "SANDBOX_BC_PORT", "int"),
    ("data_dir", "SANDBOX_DATA_DIR", "path"),
    ("db_url", "SANDBOX_DB_URL", "str"),
    ("tenant_id", "SANDBOX_TENANT_ID", "guid"),
    ("client_id", "SANDBOX_CLIENT_ID", "guid"),
    ("client_secret", "SANDBOX_CLIENT_SECRET", "str"),
    ("bc_environment", "SANDBOX_BC_ENVIRONMENT", "str"),
    ("company_id", "SANDBOX_BC_COMPANY_ID", "guid"),
    ("company_name", "SANDBOX_BC_COMPANY_NAME", "str"),
    ("seed_customers", "SANDBOX_SEED_CUSTOMERS", "int"),
    ("seed", "SANDBOX_SEED", "int"),
    ("token_lifetime", "SANDBOX_TOKEN_LIFETIME", "int"),
    ("dataverse_protection", "SANDBOX_DATAVERSE_PROTECTION", "json"),
    ("bc_protection", "SANDBOX_BC_PROTECTION", "json"),
)


def _convert(variable: str, raw: str, kind: str) -> Any:
    try:
        if kind == "int":
            return int(raw)
        if kind == "path":
            return Path(raw)
        if kind == "guid":
            return str(uuid.UUID(raw))
        if kind == "json":
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValueError("expected a JSON object")
            return value
    except ValueError as error:
        raise SettingsError(f"{variable}={raw!r} is not valid: {error}") from error
    return raw
