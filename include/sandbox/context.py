"""What a service app (Dataverse or BC) is given by the server that hosts it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.settings import SandboxSettings
    from sandbox.storage.repository import Repository
    from sandbox.storage.schema import EntitySchema


@dataclass
class Principal:
    """The caller behind a verified bearer token (set on `request.state.principal`)."""

    tenant_id: str
    app_id: str  # the Entra application (client) id
    object_id: str  # the service principal's object id
    audience: str  # the resource the token was issued for


@dataclass
class ServiceContext:
    settings: SandboxSettings
    repository: Repository
    schemas: dict[str, EntitySchema]  # this service's tables, by entity set name
    base_url: str  # this service's own https base URL, e.g. https://127.0.0.1:8441
