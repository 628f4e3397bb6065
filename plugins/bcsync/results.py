"""What each step of a job hands the next: typed results that travel between tasks as XCom.

Frames never travel in XCom: a result holds `StagedFrame` references (a URL and a row count) to the
Parquet parts the step wrote, and the counts a later step or a user needs. Airflow serializes a result
through its `serialize()` and rebuilds it with `deserialize()`; the classes are registered with
Airflow's deserialization allow-list when this module is imported (every bcsync operator imports it).
Stdlib only, so DAG parsing, the scheduler's listener and the UI can import it cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar, Self

from bcsync.engine.model import JobCounters

__all__ = [
    "CoupleResult",
    "DirectionResult",
    "ExtractResult",
    "JobResult",
    "LoadResult",
    "PassCouplings",
    "PassPlan",
    "PlanPartition",
    "PlanResult",
    "StagedFrame",
]


SERDE_DATA = "__data__"  # where Airflow's serde envelope keeps the serialized fields


class XComResult:
    """Serialization hooks Airflow's serde calls: plain JSON types out, the typed result back."""

    __version__: ClassVar[int] = 1

    def serialize(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def deserialize(cls, data: Mapping[str, Any], version: int) -> Self:
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def coerce(cls, value: Self | Mapping[str, Any] | None) -> Self | None:
        """The result from an XCom value: the object itself, its plain form, its serde envelope as the
        metadata database holds it (`{"__classname__", "__version__", "__data__"}`: what a reader outside
        a task, such as the scheduler's listener, gets back), or None."""
        if value is None or isinstance(value, cls):
            return value
        if SERDE_DATA in value:
            return cls.from_dict(value[SERDE_DATA])
        return cls.from_dict(value)


@dataclass(frozen=True)
class StagedFrame(XComResult):
    """A frame a step staged: the folder of its Parquet parts and how many rows they hold."""

    url: str
    rows: int


def _counters(value: JobCounters | Mapping[str, Any] | None) -> JobCounters:
    if isinstance(value, JobCounters):
        return value
    return JobCounters.from_dict(value or {})


def _staged(value: StagedFrame | Mapping[str, Any] | None) -> StagedFrame | None:
    return StagedFrame.coerce(value)


@dataclass(frozen=True)
class ExtractResult(XComResult):
    """One side's candidates of this run.

    `staged` is None when the side is no source in this run and was not read in full: the couple step
    then reads the coupled counterparts it needs by id. `started_at` (the read's start) and
    `max_modified` (the latest modified-on read) move the pass's watermark when the job is recorded.
    """

    side: str
    staged: StagedFrame | None
    started_at: str
    max_modified: str | None = None
    unresolved: int = 0  # records a "Synchronize Now" named that no record has: they count as Failed
    # Sales rows read again only for the one-second look-back and already synced at their modified-on:
    # Unchanged without planning (`pipeline.extract`).
    settled: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "staged", _staged(self.staged))

    @property
    def rows(self) -> int:
        return self.staged.rows if self.staged else 0


@dataclass(frozen=True)
class PassCouplings(XComResult):
    """One pass after the couple step: the candidates' couplings (oriented source → destination), their
    coupled destination records, and how many pairs match-based coupling coupled in this run."""

    couplings: StagedFrame
    destination: StagedFrame
    coupled: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "couplings", _staged(self.couplings))
        object.__setattr__(self, "destination", _staged(self.destination))


@dataclass(frozen=True)
class CoupleResult(XComResult):
    """The couple step's output per pass (keyed by `SyncPass` value, To before From)."""

    passes: dict[str, PassCouplings] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passes", {k: PassCouplings.coerce(v) for k, v in self.passes.items()})

    def coupled(self, sync_pass: str) -> int:
        found = self.passes.get(sync_pass)
        return found.coupled if found else 0


@dataclass(frozen=True)
class PlanPartition(XComResult):
    """Rows `start` to `stop` (exclusive) of a pass's staged plan, loaded by one load task instance, and
    their counters as planned. `index` is the partition's place in the run (0 to `of` - 1)."""

    index: int = 0
    of: int = 1
    start: int = 0
    stop: int = 0
    planned: JobCounters = field(default_factory=JobCounters)

    def __post_init__(self) -> None:
        object.__setattr__(self, "planned", _counters(self.planned))


@dataclass(frozen=True)
class PassPlan(XComResult):
    """One pass's plan (a row per candidate: action, payload, error), its counters as planned, and the
    partitions its load is split into (none listed: the whole plan is one partition)."""

    plan: StagedFrame
    planned: JobCounters = field(default_factory=JobCounters)
    partitions: tuple[PlanPartition, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", _staged(self.plan))
        object.__setattr__(self, "planned", _counters(self.planned))
        object.__setattr__(self, "partitions", tuple(PlanPartition.coerce(p) for p in self.partitions))

    def partition(self, index: int, of: int) -> PlanPartition:
        """Partition `index` of `of`: an empty one past this pass's own partitions (the other pass of
        the run has more)."""
        own = self.partitions or (PlanPartition(start=0, stop=self.plan.rows, planned=self.planned),)
        if index < len(own):
            return replace(own[index], index=index, of=of)
        return PlanPartition(index=index, of=of, start=own[-1].stop, stop=own[-1].stop)


@dataclass(frozen=True)
class PlanResult(XComResult):
    """The plan step's output per pass."""

    passes: dict[str, PassPlan] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passes", {k: PassPlan.coerce(v) for k, v in self.passes.items()})

    @property
    def partition_count(self) -> int:
        """How many load task instances each pass gets: as many as the pass with the most partitions."""
        return max([len(p.partitions) for p in self.passes.values()] + [1])

    def partitioned(self) -> list[PlanResult]:
        """One `PlanResult` per partition, each listing only that partition of each pass: what the
        transform task hands its mapped loads (load_crm[i] and load_bc[i] get item i)."""
        count = self.partition_count
        return [
            PlanResult(
                passes={
                    name: replace(
                        step,
                        planned=(part := step.partition(index, count)).planned,
                        partitions=(part,),
                    )
                    for name, step in self.passes.items()
                }
            )
            for index in range(count)
        ]

    @classmethod
    def coerce_all(cls, value: Any) -> list[PlanResult]:
        """The plan(s) a load task received: one result, or a list of partitions (a load that is not
        mapped over them loads them all, one after the other)."""
        if value is None:
            return []
        if isinstance(value, Sequence) and not isinstance(value, str | Mapping):
            return [plan for item in value if (plan := cls.coerce(item)) is not None]
        plan = cls.coerce(value)
        return [] if plan is None else [plan]


@dataclass(frozen=True)
class LoadResult(XComResult):
    """One destination's load: the pass it wrote, its job row and the run's counters for that pass.

    `ran` is False when the pass is not part of this run (a one-way job, or `direction` chose the other
    pass). Counters cover every try of the task; `failed` counts only this try's failed records.
    `partition` of `partitions`: the part of the pass's plan this load wrote (`merge_loads` adds them up).
    """

    sync_pass: str
    ran: bool = True
    dry_run: bool = False
    job_id: str | None = None
    counters: JobCounters = field(default_factory=JobCounters)
    failed: int = 0
    partition: int = 0
    partitions: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "counters", _counters(self.counters))


def merge_loads(values: Iterable[Any]) -> dict[str, LoadResult]:
    """Each pass's load from its load tasks' results (a mapped load gives a list, one per partition):
    counters and failures summed. A pass is left out when a partition gave no result (its task
    crashed), as a load that failed: its watermark must not move."""
    found: dict[str, dict[int, LoadResult]] = {}
    for value in values:
        items = value if isinstance(value, Sequence) and not isinstance(value, str | Mapping) else [value]
        for item in items:
            load = LoadResult.coerce(item)
            if load is not None and load.ran:
                found.setdefault(load.sync_pass, {})[load.partition] = load
    merged = {}
    for sync_pass, parts in found.items():
        expected = max(load.partitions for load in parts.values())
        if len(parts) < expected:
            continue
        first = parts[min(parts)]
        merged[sync_pass] = replace(
            first,
            counters=_sum_counters(load.counters for load in parts.values()),
            failed=sum(load.failed for load in parts.values()),
            partition=0,
            partitions=1,
        )
    return merged


def _sum_counters(counted: Iterable[JobCounters]) -> JobCounters:
    total = JobCounters()
    for counters in counted:
        for name, count in asdict(counters).items():
            if name == "extra":
                for key, value in count.items():
                    total.extra[key] = total.extra.get(key, 0) + value
            else:
                setattr(total, name, getattr(total, name) + count)
    return total


@dataclass(frozen=True)
class DirectionResult(XComResult):
    """A pass as recorded in BC's job log: "done", "dry run" or "load failed", with its counters."""

    status: str
    counters: JobCounters = field(default_factory=JobCounters)

    def __post_init__(self) -> None:
        object.__setattr__(self, "counters", _counters(self.counters))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DirectionResult:
        """From the serialized form, or from the flat one of `JobResult.summary()` ("Inserted", ...)."""
        counters = data.get("counters", data)
        return cls(status=str(data.get("status") or "done"), counters=_counters(counters))

    @property
    def load_failed(self) -> bool:
        return self.status == LOAD_FAILED


LOAD_FAILED = "load failed"


@dataclass(frozen=True)
class JobResult(XComResult):
    """The recorded job: per direction its status and BC's counters; what the run note, the asset event
    and the job-status check read."""

    mapping: str
    run_kind: str
    dry_run: bool
    directions: dict[str, DirectionResult] = field(default_factory=dict)
    message: str = ""  # what a manual action did, in BC's words ("The record has been restored ...")

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "directions", {k: DirectionResult.coerce(v) for k, v in self.directions.items()}
        )

    @property
    def failed(self) -> int:
        return sum(d.counters.failed for d in self.directions.values())

    def summary(self) -> dict[str, Any]:
        """Plain, flat JSON for people and other DAGs (the asset event's extra, the run note):
        `{"mapping", "run_kind", "dry_run", "failed", "directions": {pass: {"status", "Inserted", ...}}}`,
        a child mapping's counters after its parent's ("<CHILD> Inserted", ...), and "message" when the
        run has one (manual actions)."""
        message = {"message": self.message} if self.message else {}
        return {
            "mapping": self.mapping,
            "run_kind": self.run_kind,
            "dry_run": self.dry_run,
            "failed": self.failed,
            "directions": {
                # A child mapping's counters follow its parent's: "POSTEDSALESLINE-INV Inserted", ...
                name: {"status": d.status, **d.counters.as_dict(), **d.counters.extra}
                for name, d in self.directions.items()
            },
            **message,
        }


def _allow_deserialization() -> None:
    """Let Airflow rebuild these results from XCom in any process that imported this module."""
    try:
        from airflow.sdk.serde import allow_class
    except ImportError:  # an Airflow without the per-process allow-list: configure it instead
        return
    for name in __all__:
        allow_class(globals()[name])


_allow_deserialization()
