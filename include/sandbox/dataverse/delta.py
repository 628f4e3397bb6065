"""Change tracking: `Prefer: odata.track-changes`, `$deltatoken` links and `$deletedEntity` entries.

A delta token is `<row version>!<issued UTC, MM/dd/yyyy HH:mm:ss>`, the shape Dataverse's tokens have;
tokens older than the retention period are refused like expired Dataverse tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.dataverse.errors import CHANGE_TRACKING_EXPIRED, DataverseError, bad_request
from sandbox.storage.schema import EntitySchema

RETENTION = timedelta(days=7)  # organization.expirechangetrackingindays default
_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
UNSUPPORTED_WITH_TRACKING = ("$filter", "$orderby", "$expand", "$top")


def issue_token(version: int, now: datetime | None = None) -> str:
    issued = (now or datetime.now(UTC)).strftime(_TIME_FORMAT)
    return f"{version}!{issued}"


def read_token(token: str, current_version: int, now: datetime | None = None) -> int:
    """The row version inside a delta token; 400 for garbage, expired tokens or future versions."""
    version_text, _, issued_text = token.partition("!")
    try:
        version = int(version_text)
        issued = datetime.strptime(issued_text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise bad_request(f"The delta token '{token}' is not valid.") from None
    if version < 0 or version > current_version:
        raise bad_request(f"The delta token '{token}' is not valid.")
    if (now or datetime.now(UTC)) - issued > RETENTION:
        raise DataverseError(
            400,
            CHANGE_TRACKING_EXPIRED,
            "The version stamp associated with the client has expired. Please perform a full sync.",
        )
    return version


def check_tracking_options(schema: EntitySchema, options: dict[str, str]) -> None:
    """The query options Dataverse refuses together with change tracking."""
    if not schema.change_tracking:
        raise bad_request(
            f"Change tracking is not enabled for the entity '{schema.logical_name}' "
            f"(EntityMetadata.ChangeTrackingEnabled is false)."
        )
    for name in UNSUPPORTED_WITH_TRACKING:
        if name in options:
            raise bad_request(
                f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.'
            )


def deleted_entity(api_root: str, set_name: str, key: str) -> dict[str, Any]:
    return {
        "@odata.context": f"{api_root}$metadata#{set_name}/$deletedEntity",
        "id": key,
        "reason": "deleted",
    }
