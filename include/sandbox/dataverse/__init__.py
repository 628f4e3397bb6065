"""The local Dataverse Web API v9.2 (Dynamics 365 Sales tables): routes, `$batch`, bulk messages,
change tracking and metadata over the shared sandbox storage. See docs/sandbox.md."""

import os

from sandbox.dataverse.app import create_app
from sandbox.dataverse.errors import error_response
from sandbox.dataverse.schema import declared_schemas

SCHEMAS = declared_schemas(os.environ)

__all__ = ["SCHEMAS", "create_app", "error_response"]
