"""The Params of a sync DAG: what BC's manual actions are in Airflow's trigger form.

The operators read them from the DAG run (`bcsync.pipeline.context.RunContext`); a DAG of your own
offers the same actions with `DAG(..., params=sync_params(mapping))`.
"""

from __future__ import annotations

from airflow.sdk import Param

from bcsync.registry.model import IntegrationTableMapping, SyncDirection

# A record id: a GUID, not the nil GUID (no record has it). ECMA regex as JSON Schema wants, which the
# browser's form and Python's jsonschema both read; there `$` also matches before a final newline, so
# the exact length (RECORD_ID below) is what refuses "<guid>\n".
GUID_PATTERN = (
    "^(?!0{8}-0{4}-0{4}-0{4}-0{12}$)"
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
RECORD_ID = {"type": "string", "pattern": GUID_PATTERN, "minLength": 36, "maxLength": 36}


def sync_params(mapping: IntegrationTableMapping) -> dict[str, Param]:
    """The Params of a DAG that runs `mapping`: BC's manual actions in the trigger form."""
    params = {
        "full_sync": Param(
            False,
            type="boolean",
            title="Run full synchronization",
            description="Read every record, couple by matching, create the rest (BC's Full Synchronization).",
        ),
        "record_ids": Param(
            [],
            type="array",
            items=RECORD_ID,
            title="Synchronize now",
            description="Ids (BC SystemId or Dataverse id) of records to synchronize now, whatever changed.",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Plan and log what would be inserted, modified, coupled or fail; write nothing.",
        ),
    }
    if mapping.direction is SyncDirection.BIDIRECTIONAL:
        description = "Both (BC → Sales, then Sales → BC), or only one of them."
    else:
        # As BC's job for a direction the mapping lacks: a job row with BC's message, nothing synced.
        description = (
            f"This job synchronizes {mapping.direction.value} only; the other direction records BC's "
            "'not configured for … synchronization' job and changes nothing."
        )
    params["direction"] = Param(
        "both",
        type="string",
        enum=["both", SyncDirection.TO_INTEGRATION_TABLE.value, SyncDirection.FROM_INTEGRATION_TABLE.value],
        title="Direction",
        description=description,
    )
    return params
