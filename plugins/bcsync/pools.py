"""Airflow pools, one per service: a slot is one request in flight to that service.

A task in a service's pool holds as many slots as it keeps requests in flight there (`pool_slots`), and
its hook for that service sends no more at once than the slots it holds, so a pool's size caps the
requests the extract and load tasks of all jobs together send to its service. Reading is paged, one
request after the other; loads send bulk requests in parallel. (A task has one pool: its reads of the
other service, and those of `couple` and `transform`, go outside the pools, one request at a time.)

Imported when DAG files are parsed: constants only.
"""

from __future__ import annotations

from typing import Any

BC_POOL = "bc_api"
DATAVERSE_POOL = "dataverse_api"

# BC allows 5 concurrent requests per user (more wait in BC's queue, then 429); Dataverse allows 52 per
# user, shared with every other app of the application user.
POOL_SIZES = {BC_POOL: 5, DATAVERSE_POOL: 16}
READ_SLOTS = 1
WRITE_SLOTS = {BC_POOL: 5, DATAVERSE_POOL: 4}

# Which service hook (`Services.bc` / `Services.crm`) a pool's slots limit.
POOL_SIDES = {BC_POOL: "bc", DATAVERSE_POOL: "crm"}


def slots_held(task: Any) -> dict[str, int]:
    """The service whose pool the task runs in, with the slots it holds: its requests in flight there."""
    side = POOL_SIDES.get(getattr(task, "pool", None) or "")
    return {side: task.pool_slots} if side else {}
