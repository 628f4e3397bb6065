"""The Params of a sync DAG: what BC's manual actions are in Airflow's trigger form.

The operators read them from the DAG run (`bcsync.pipeline.context.RunContext`); a DAG of your own
offers the same actions with `DAG(..., params=sync_params(mapping))`.
"""

from __future__ import annotations

from airflow.sdk import Param

from bcsync.pipeline.context import DEFAULT_PARTITION_SIZE
from bcsync.registry.model import IntegrationTableMapping, SyncDirection

# A record as admins name it: a BC number or code, a Sales name or number, or an id of either side. The
# task resolves it and fails a name that matches no record, or several, with a message naming it; the
# form only refuses what cannot be a name (blank, or longer than any name field).
RECORD_REFERENCE = {"type": "string", "minLength": 1, "maxLength": 250, "pattern": "\\S"}


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
            items=RECORD_REFERENCE,
            title="Synchronize now",
            description=(
                "Records to synchronize now, whatever changed (a skipped one is restored first): "
                "BC No. or Code, Sales name or number, or the id of either side."
            ),
        ),
        "partition_size": partition_size_param(),
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


def partition_size_param() -> Param:
    """Records to write per load task: a pass with more is loaded in partitions, by several load tasks
    at once (`bcsync.pipeline.partitions`)."""
    return Param(
        DEFAULT_PARTITION_SIZE,
        type="integer",
        minimum=1,
        title="Records to write per load task",
        description=(
            "A pass with more records to write (inserts and modifies) is loaded in partitions of this "
            "many, by several load tasks at once (a large initial load or backfill on several workers)."
        ),
    )
