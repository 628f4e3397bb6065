"""Vocabulary of the engine: sides, passes, field rules, per-record actions and job counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Side(StrEnum):
    BC = "bc"
    CRM = "crm"

    @property
    def other(self) -> Side:
        return Side.CRM if self is Side.BC else Side.BC


class SyncPass(StrEnum):
    """One direction of a job run. BC calls them ToIntegrationTable and FromIntegrationTable."""

    TO_CRM = "ToIntegrationTable"
    FROM_CRM = "FromIntegrationTable"

    @property
    def source(self) -> Side:
        return Side.BC if self is SyncPass.TO_CRM else Side.CRM

    @property
    def destination(self) -> Side:
        return self.source.other


class UpdateConflictResolution(StrEnum):
    NONE = "None"
    SEND_UPDATE_TO_INTEGRATION = "Send Update to Integration"  # BC wins
    GET_UPDATE_FROM_INTEGRATION = "Get Update from Integration"  # Sales wins


class DeletionConflictResolution(StrEnum):
    NONE = "None"
    RESTORE_RECORDS = "Restore Records"
    REMOVE_COUPLING = "Remove Coupling"


class RecordAction(StrEnum):
    """What the engine decided for one source record in one pass."""

    INSERT = "insert"
    MODIFY = "modify"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    FAIL = "fail"
    IGNORE = "ignore"  # filtered out or uncoupled under "only coupled": counted nowhere, as in BC
    REMOVE_COUPLING = "remove_coupling"  # deletion conflict resolved by uncoupling: no counter


# The actions a load sends to the destination.
WRITE_ACTIONS = (RecordAction.INSERT.value, RecordAction.MODIFY.value)


@dataclass(frozen=True)
class LookupTable:
    """Translates a related record's value through another mapping's couplings, for one pass.

    `values` maps the source-side value (a BC code such as "EUR", or a Dataverse GUID) to the
    destination-side value. `blank_means` is what a blank source value becomes (BC's blank currency
    code is the LCY, which is Sales' base currency), and `maps_to_blank` the destination value that a
    source value equal to it turns into (the base currency going back to a blank code).
    """

    mapping: str  # the mapping whose couplings translate the value, e.g. "CURRENCY"
    values: Mapping[Any, Any]
    blank_means: Any = None
    maps_to_blank: Any = None
    caption: str = ""  # the related table as users know it, for error messages, e.g. "Currency"


@dataclass(frozen=True)
class FieldRule:
    """One enabled field mapping that takes part in a pass, oriented source → destination."""

    source_field: str | None  # None for a constant
    destination_field: str
    caption: str  # BC's field caption, for messages ("Address 2")
    bidirectional: bool = False  # the field mapping's own direction is Bidirectional
    constant: Any = None
    is_constant: bool = False
    lookup: str | None = None  # name of the LookupTable translating this field
    option_map: Mapping[Any, Any] | None = None  # source value → destination value
    clear_on_failed_sync: bool = False
    not_null: bool = False  # a null lookup result is left out of the write (BC "Not Null")
    max_length: int | None = None  # destination text length: longer text is truncated, as BC does


@dataclass(frozen=True)
class PassSpec:
    """Everything the planner needs to know about one mapping in one direction."""

    mapping: str
    sync_pass: SyncPass
    fields: tuple[FieldRule, ...]
    bidirectional_mapping: bool = False
    only_coupled: bool = True
    update_conflict: UpdateConflictResolution = UpdateConflictResolution.NONE
    deletion_conflict: DeletionConflictResolution = DeletionConflictResolution.NONE
    force_modify: bool = False  # manual "Synchronize Now" and unconditional full sync
    source_caption: str = ""  # e.g. "Customer" / "Account", for messages
    destination_caption: str = ""


# Frame column names shared by the planner and the pipeline.
SOURCE_ID = "source_id"
DESTINATION_ID = "destination_id"
SOURCE_MODIFIED = "source_modified_on"
DESTINATION_MODIFIED = "destination_modified_on"


# BC's job log columns in its order, then the pairs coupled by matching: the one list of counter names.
COUNTER_NAMES = ("Inserted", "Modified", "Deleted", "Unchanged", "Skipped", "Failed", "Coupled")
JOB_LOG_COUNTERS = COUNTER_NAMES[:6]


@dataclass
class JobCounters:
    """BC's counters of one "Integration Synch. Job" (one direction of one run)."""

    inserted: int = 0
    modified: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    coupled: int = 0
    uncoupled: int = 0  # BC's counter of Uncoupling jobs: only the uncouple actions set it
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, action: RecordAction | str, count: int = 1) -> None:
        attribute = _COUNTER_OF.get(RecordAction(action))
        if attribute:
            setattr(self, attribute, getattr(self, attribute) + count)

    def as_dict(self) -> dict[str, int]:
        """BC's names (the columns of its job log, then "Coupled", and "Uncoupled" when set) → counts."""
        counts = {name: getattr(self, name.lower()) for name in COUNTER_NAMES}
        return {**counts, "Uncoupled": self.uncoupled} if self.uncoupled else counts

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> JobCounters:
        """From `as_dict()`'s BC names or from the field names (`dataclasses.asdict`)."""
        counts = {
            name.lower(): int(values.get(name, values.get(name.lower(), 0)) or 0) for name in COUNTER_NAMES
        }
        uncoupled = int(values.get("Uncoupled", values.get("uncoupled", 0)) or 0)
        return cls(**counts, uncoupled=uncoupled, extra=dict(values.get("extra") or {}))

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.inserted or self.modified or self.deleted or self.failed or self.coupled or self.uncoupled
        )


_COUNTER_OF = {
    RecordAction.INSERT: "inserted",
    RecordAction.MODIFY: "modified",
    RecordAction.UNCHANGED: "unchanged",
    RecordAction.SKIP: "skipped",
    RecordAction.FAIL: "failed",
}
