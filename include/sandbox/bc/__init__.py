"""The local Business Central API: the standard API v2.0 and the bcsync custom API route
(docs/bc-custom-api.md)."""

from sandbox.bc.app import create_app
from sandbox.bc.errors import error_response
from sandbox.bc.tables import SCHEMAS

__all__ = ["SCHEMAS", "create_app", "error_response"]
