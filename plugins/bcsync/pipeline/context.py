"""What a task knows about the run it belongs to: kind of run, manual parameters, data interval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

# The Params of `bcsync.operators.params.sync_params`: what a run's conf may hold when the task cannot
# tell its DAG's own Params.
SYNC_PARAMS = frozenset({"full_sync", "record_ids", "dry_run", "direction", "partition_size"})
# Records to write per load task instance: a run with more is loaded by several, in parallel where
# workers and the services' pools allow. Large enough that the runs users have every 30 minutes stay
# one task per pass.
DEFAULT_PARTITION_SIZE = 10_000


class RunKind(StrEnum):
    SCHEDULED = "scheduled"  # incremental from the watermarks
    FULL = (
        "full"  # BC's "Run Full Synchronization": watermarks cleared, match-based coupling, create the rest
    )
    BACKFILL = "backfill"  # re-sync what was modified inside the run's data interval; watermarks untouched
    RECORDS = "records"  # BC's "Synchronize Now" for given record ids; watermarks untouched


@dataclass(frozen=True)
class RunContext:
    dag_id: str
    run_id: str
    kind: RunKind
    task_id: str = ""
    try_number: int = 1
    dry_run: bool = False
    record_ids: tuple[str, ...] = ()
    direction: str | None = None  # restrict a bidirectional job to one pass
    # Manual actions on given records (RECORDS runs of the action DAGs, never from a job DAG's Params):
    # Create New, and BC's one-off job on a copy of the mapping with "Synch. Only Coupled Records" off
    # (SynchRecordIfMappingExists, `bcsync.pipeline.sync_first`): uncoupled records are created.
    creates: bool = False
    restores_deleted: bool = False  # Restore: a deleted counterpart is created again
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # A records run that another job's rule started (BC's SynchRecordsToIntegrationTable from a
    # subscriber): named after that job, and not forced, unlike "Synchronize Now".
    triggered_by: str | None = None
    partition_size: int = DEFAULT_PARTITION_SIZE

    @property
    def force_modify(self) -> bool:
        """BC's ForceModify: "Synchronize Now" rewrites its records whether they changed or not."""
        return self.kind is RunKind.RECORDS and self.triggered_by is None

    @property
    def moves_watermarks(self) -> bool:
        return not self.dry_run and self.kind in (RunKind.SCHEDULED, RunKind.FULL)

    @property
    def retries_failed_records(self) -> bool:
        """BC re-reads what failed last time in its scheduled runs. Not in backfills: their runs (often
        several at once) would all retry the same records, and each is red only for its own interval."""
        return self.kind is RunKind.SCHEDULED

    @classmethod
    def from_airflow(cls, context: Mapping[str, Any]) -> RunContext:
        """Build from an Airflow task context (params validated by the DAG's Param schema)."""
        dag_run = context["dag_run"]
        _refuse_unknown_conf_keys(context)
        params = context.get("params") or {}
        record_ids = tuple(str(i) for i in (params.get("record_ids") or ()))
        # The Task SDK's DagRunType is a str enum whose str() is "DagRunType.BACKFILL": use its value.
        run_type = getattr(dag_run, "run_type", None)
        run_type = str(getattr(run_type, "value", run_type) or "")
        if record_ids:
            kind = RunKind.RECORDS
        elif params.get("full_sync"):
            kind = RunKind.FULL
        elif run_type == "backfill":
            kind = RunKind.BACKFILL
        else:
            kind = RunKind.SCHEDULED
        task_instance = context.get("ti") or context.get("task_instance")
        direction = params.get("direction")
        return cls(
            dag_id=dag_run.dag_id,
            run_id=dag_run.run_id,
            kind=kind,
            task_id=getattr(task_instance, "task_id", ""),
            try_number=int(getattr(task_instance, "try_number", 1) or 1),
            dry_run=bool(params.get("dry_run", False)),
            record_ids=record_ids,
            direction=None if direction in (None, "", "both") else str(direction),
            data_interval_start=context.get("data_interval_start"),
            data_interval_end=context.get("data_interval_end"),
            partition_size=int(params.get("partition_size") or DEFAULT_PARTITION_SIZE),
        )


def _refuse_unknown_conf_keys(context: Mapping[str, Any]) -> None:
    """Fail (without retries) a run triggered with a conf key that is none of its DAG's Params.

    Airflow validates the Params a trigger sets but takes any other conf key as a new Param, so a typo
    (`fullsync`) would otherwise run silently as a scheduled run.
    """
    conf = getattr(context["dag_run"], "conf", None) or {}
    declared = [getattr(context.get(owner), "params", None) for owner in ("dag", "task")]
    known = set().union(*(p.keys() for p in declared if p is not None)) or set(SYNC_PARAMS)
    unknown = sorted(set(conf) - known)
    if unknown:
        raise AirflowFailException(
            f"Unknown key(s) in the run's conf: {', '.join(unknown)}. "
            f"This DAG's Params are: {', '.join(sorted(known))}."
        )
