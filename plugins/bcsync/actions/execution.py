"""What every manual action does around its own work: resolve the records it was given, hold the job's
lease, fail a bad record alone (log line + error store + Failed), run the real sync steps for records it
synchronizes or creates, and record BC's job row and counters.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import JobCounters, Side, SyncPass
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.reading import read_by_ids
from bcsync.pipeline.record import lease_holder
from bcsync.pipeline.references import ResolvedRecord, resolve_records
from bcsync.pipeline.runner import run_job
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.results import DirectionResult, JobResult
from bcsync.store.schema import JobType

if TYPE_CHECKING:
    from bcsync.store import CouplingStore

log = logging.getLogger(__name__)


@dataclass
class ActionRun:
    """One manual action on one mapping, inside one Airflow DAG run (or a test's run context)."""

    action: str
    mapping: IntegrationTableMapping
    run: RunContext
    services: Services
    staging: ObjectStoragePath | None = None
    counters: dict[str, JobCounters] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    _syncs: int = 0

    @property
    def store(self) -> CouplingStore:
        return self.services.store

    def count(self, direction: SyncPass, **counts: int) -> None:
        counters = self.counters.setdefault(direction.value, JobCounters())
        for name, value in counts.items():
            setattr(counters, name, getattr(counters, name) + value)

    def say(self, message: str) -> None:
        log.info("%s %s: %s", self.mapping.name, self.action, message)
        self.messages.append(message)

    def resolve(self, references: Iterable[str], side: Side | None = None) -> list[ResolvedRecord]:
        """The records named; each one that names nothing (or several) fails alone."""
        resolved = resolve_records(self.services, self.mapping, references, side=side)
        for record in resolved:
            if not record.ok:
                self.fail(
                    SyncPass.TO_CRM if side is not Side.CRM else SyncPass.FROM_CRM, record, record.problem
                )
        return [r for r in resolved if r.ok]

    def fail(
        self,
        direction: SyncPass,
        record: ResolvedRecord,
        message: str | None,
        *,
        bc_id: str | None = None,
        crm_id: str | None = None,
    ) -> None:
        """One record fails: its SYNC ERROR line, its row in the error store, and Failed + 1."""
        if record.side is Side.BC:
            bc_id = bc_id or record.record_id
        elif record.side is Side.CRM:
            crm_id = crm_id or record.record_id
        message = message or "unknown error"
        log.error(
            "SYNC ERROR job=%s action=%s direction=%s record=%s bc_id=%s crm_id=%s reason=%s",
            self.mapping.name,
            self.action,
            direction.value,
            record.reference,
            bc_id,
            crm_id,
            message,
        )
        self.store.add_record_errors(
            [
                {
                    "mapping": self.mapping.name,
                    "direction": direction.value,
                    "bc_id": bc_id,
                    "crm_id": crm_id,
                    "bc_number": record.label if record.side is Side.BC else None,
                    "name": record.label or record.reference,
                    "message": message,
                    "run_id": self.run.run_id,
                    "task_id": self.run.task_id,
                    "try_number": self.run.try_number,
                }
            ]
        )
        self.count(direction, failed=1)

    def couplings_of(self, records: Iterable[ResolvedRecord]) -> pd.DataFrame:
        records = list(records)
        return self.store.couplings_for(
            self.mapping.name,
            bc_ids=[r.record_id for r in records if r.side is Side.BC],
            crm_ids=[r.record_id for r in records if r.side is Side.CRM],
        )

    def synchronize(
        self,
        record_ids: list[str],
        direction: SyncPass,
        *,
        creates: bool = False,
        restores_deleted: bool = False,
    ) -> JobResult | None:
        """Run the job's real steps (extract, couple, plan, load, record) on these records, forced, in one
        direction: BC's one-off job on a temporary copy of the mapping. Its job rows are the store's."""
        if not record_ids:
            return None
        self._syncs += 1
        run = replace(
            self.run,
            run_id=f"{self.run.run_id}__{self.action}_{self._syncs}",
            kind=RunKind.RECORDS,
            record_ids=tuple(record_ids),
            direction=direction.value,
            creates=creates,
            restores_deleted=restores_deleted,
        )
        result = run_job(self.mapping.name, run, self.services, self.staging)
        for name, outcome in result.directions.items():
            merged = self.counters.setdefault(name, JobCounters())
            for counter, value in outcome.counters.as_dict().items():
                attribute = counter.lower()
                setattr(merged, attribute, getattr(merged, attribute) + value)
        return result

    def record_job(self, job_type: JobType, own: dict[str, JobCounters]) -> None:
        """BC's job row of the action's own work (coupling, uncoupling, deleting): one per direction."""
        for direction, counters in own.items():
            job_id = str(
                uuid.uuid5(
                    uuid.NAMESPACE_URL,
                    f"bcsync:{self.run.dag_id}:{self.run.run_id}:{self.mapping.name}:{direction}",
                )
            )
            self.store.start_job(
                self.mapping.name, direction, job_type=job_type, run_id=self.run.run_id, job_id=job_id
            )
            self.store.finish_job(job_id, counters.as_dict(), message="; ".join(self.messages)[:2000] or None)

    def result(self) -> JobResult:
        directions = {name: DirectionResult(status="done", counters=c) for name, c in self.counters.items()}
        return JobResult(
            mapping=self.mapping.name,
            run_kind=self.action,
            dry_run=False,
            directions=directions,
            message=" ".join(self.messages)[:500],
        )

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the job's lease while the action writes couplings or records, so no run of the job
        writes them meanwhile; given back before `synchronize`, whose steps take it themselves."""
        holder = lease_holder(self.run)
        try:
            with self.store.holding_lease(self.mapping.name, holder, first_step=True):
                yield
        finally:
            self.store.release_lease(self.mapping.name, holder)


TO_CRM, FROM_CRM = SyncPass.TO_CRM, SyncPass.FROM_CRM


def read_records(
    run: ActionRun, side: Side, ids: list[str], shape: Callable[..., pd.DataFrame]
) -> pd.DataFrame:
    """These records of one side as one frame (`as_source` / `as_destination` columns), whatever the
    table filters say; missing ones are simply absent."""
    frames = [f for f in read_by_ids(run.services, run.mapping, side, ids, apply_filter=False) if len(f)]
    return shape(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), run.mapping, side)


def record_name(record: ResolvedRecord) -> str:
    """How messages name a record: its BC number or Sales name, else what the admin typed."""
    return record.label or record.reference


def sync_pass_of(side: Side) -> SyncPass:
    """The pass in which `side`'s records are the source."""
    return SyncPass.TO_CRM if side is Side.BC else SyncPass.FROM_CRM
