"""The mapping model: BC's Integration Table Mapping and Integration Field Mapping as frozen pydantic data.

Rules that need only one field live here as validators; rules across fields, mappings and files live
in `bcsync.registry.validation`, so every problem can be reported with its file, mapping and field.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    computed_field,
    field_validator,
    model_validator,
)

from bcsync.engine.model import DeletionConflictResolution, UpdateConflictResolution

__all__ = [
    "NOT_CARRIED",
    "BcApi",
    "BcEndpoint",
    "ConfigTemplate",
    "Coupling",
    "DeletionConflictResolution",
    "FieldStatus",
    "IntegrationFieldMapping",
    "IntegrationTableMapping",
    "Lookup",
    "MappingFile",
    "MatchCriterion",
    "OptionMapping",
    "OptionValue",
    "OwnershipModel",
    "RuleLookup",
    "Schedule",
    "SyncDirection",
    "UpdateConflictResolution",
    "dag_id_for",
    "format_duration",
]


class SyncDirection(StrEnum):
    """BC's enum on both tables and fields; "Integration Table" is Dataverse."""

    BIDIRECTIONAL = "Bidirectional"
    TO_INTEGRATION_TABLE = "ToIntegrationTable"  # BC → Sales
    FROM_INTEGRATION_TABLE = "FromIntegrationTable"  # Sales → BC

    @property
    def to_crm(self) -> bool:
        return self is not SyncDirection.FROM_INTEGRATION_TABLE

    @property
    def to_bc(self) -> bool:
        return self is not SyncDirection.TO_INTEGRATION_TABLE

    def allows(self, field_direction: SyncDirection) -> bool:
        """Whether a field mapping with `field_direction` fits a table mapping with this direction."""
        return self is SyncDirection.BIDIRECTIONAL or field_direction is self

    @property
    def arrow(self) -> str:
        return {"Bidirectional": "↔", "ToIntegrationTable": "→", "FromIntegrationTable": "←"}[self.value]


class BcApi(StrEnum):
    STANDARD = "v2.0"  # /api/v2.0/
    CUSTOM = "custom"  # our API-page extension, /api/bcsync/sync/v1.0/


class FieldStatus(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"


class OwnershipModel(StrEnum):
    """Dataverse connection setup: who owns synchronized rows."""

    PERSON = "Person"
    TEAM = "Team"


# BC settings that bcsync does not carry, with the reason (docs/mappings.md, "BC settings bcsync does
# not carry"). A file that still has one is told why, rather than "unknown key".
NOT_CARRIED: dict[str, str] = {
    "validate_field": (
        "BC's \"Validate Field\" is not carried: BC's API pages validate every field they write, so "
        "bcsync cannot write a field without validating it"
    ),
    "validate_integration_field": (
        'BC\'s "Validate Integration Table Fld" is not carried: the Dataverse Web API always '
        "validates what it is sent"
    ),
    "inactivity_timeout": (
        'BC\'s job queue "Inactivity Timeout Period" is not carried: Airflow starts a run every '
        "interval; there is no idle job to wake"
    ),
    "create_new_if_no_match": (
        'BC\'s "Create New in Case of No Match" is not carried as a mapping setting: it is the '
        "create_new_if_no_match option of the match_couple action; a full synchronization creates "
        "every unmatched record"
    ),
    "job_kind": (
        "job_kind is not carried: every job bcsync runs is a table synchronization; BC's Customer "
        "Statistics job is the CUSTOMER STATISTICS mapping, disabled until that job is implemented"
    ),
}


# An option mapping's "Create New in Case of No Match" is BC's option coupling adding the code to the
# Dataverse option set.
_OPTION_SET_VALUES_NOT_MANAGED = (
    'BC\'s "Create New in Case of No Match" of option mappings is not carried: bcsync does not add '
    "values to Dataverse option sets; a code without a row leaves the destination field as it is"
)


def _refuse_not_carried(data: Any, *keys: str, reasons: dict[str, str] = NOT_CARRIED) -> Any:
    if isinstance(data, dict):
        for key in keys:
            if key in data:
                raise ValueError(f"{key}: {reasons[key]}; remove the key")
    return data


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"expected a duration such as '30m', '1440m' or '30s', got {value!r}")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def format_duration(value: timedelta) -> str:
    """Minutes when whole (BC states job intervals and timeouts in minutes), else seconds."""
    seconds = int(value.total_seconds())
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(_parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


def dag_id_for(job_code: str) -> str:
    """`bcsync_` + the job code lower-cased, each run of other characters (`-`, space) becoming `_`."""
    return "bcsync_" + re.sub(r"[^a-z0-9]+", "_", job_code.lower()).strip("_")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class BcEndpoint(_Frozen):
    """Which BC API page serves the table: the standard API v2.0 or our custom route."""

    api: BcApi
    entity_set: Identifier


class Lookup(_Frozen):
    """Translate the value through another mapping's couplings (BC: a code ↔ the coupled row's id)."""

    mapping: Name
    # BC's blank currency code is the local currency: it maps to the Dataverse row whose ISO code is the
    # LCY code (Sales' base currency), and that row maps back to a blank code.
    blank_means_lcy: bool = False


class MatchCriterion(_Frozen):
    """BC's "Use For Match-Based Coupling" with its "Match Priority" and "Case-Sensitive Matching"."""

    priority: int = Field(default=1, ge=1)
    case_sensitive: bool = False


class IntegrationFieldMapping(_Frozen):
    """One row of BC's "Integration Field Mapping" (table 5336)."""

    bc_caption: Name | None = None  # as BC's mapping page shows it, e.g. "Address 2"
    bc_field: Identifier | None = None  # API property, e.g. addressLine2
    bc_api: BcApi | None = None  # which endpoint has bc_field; filled from the mapping's bc_endpoint
    crm_field: Identifier | None = None  # Dataverse logical name, e.g. address1_line2
    direction: SyncDirection
    constant: str | bool | int | float | None = None  # written in `direction` where the other side is blank
    lookup: Lookup | None = None
    option_mapping: Name | None = None  # BC's "CRM Option Mapping": code ↔ option-set value
    clear_on_failed_sync: bool = False
    not_null: bool = False  # a blank result never overwrites the destination (owner)
    match: MatchCriterion | None = None
    ownership_model: OwnershipModel | None = None  # created only under this ownership model
    status: FieldStatus = FieldStatus.ENABLED
    # The Web API navigation property a lookup binds through, when it is not the attribute's own name:
    # a polymorphic lookup names its target (contact.parentcustomerid → parentcustomerid_account).
    crm_navigation: Identifier | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_carried(cls, data: Any) -> Any:
        return _refuse_not_carried(data, "validate_field", "validate_integration_field")

    @property
    def is_constant(self) -> bool:
        return "constant" in self.model_fields_set

    @property
    def label(self) -> str:
        """How error messages and listings name the field: `'Address 2' (bc_field addressLine2)`."""
        if self.bc_caption and self.bc_field:
            return f"'{self.bc_caption}' (bc_field {self.bc_field})"
        if self.bc_caption:
            return f"'{self.bc_caption}'"
        return f"(crm_field {self.crm_field})"

    @model_validator(mode="after")
    def _check_shape(self) -> IntegrationFieldMapping:
        if self.is_constant:
            self._check_constant()
        elif not (self.bc_field and self.crm_field):
            raise ValueError("a field mapping needs both bc_field and crm_field, or a constant for one side")
        if self.bc_field and not self.bc_caption:
            raise ValueError("bc_caption is required with bc_field (BC's caption, e.g. 'Phone No.')")
        if self.lookup and self.option_mapping:
            raise ValueError("a field translates through a lookup or an option mapping, not both")
        if self.clear_on_failed_sync and not self.lookup:
            raise ValueError("clear_on_failed_sync applies only to a lookup field")
        if self.clear_on_failed_sync and self.not_null:
            raise ValueError("clear_on_failed_sync cannot be combined with not_null (as in BC)")
        if self.match and self.is_constant:
            raise ValueError("a constant cannot be a match-based coupling criterion")
        if self.crm_navigation and not (self.lookup and self.crm_field):
            raise ValueError("crm_navigation applies only to a lookup field with a crm_field")
        return self

    def _check_constant(self) -> None:
        if self.constant is None:
            raise ValueError("constant needs a value")
        if bool(self.bc_field) == bool(self.crm_field):
            raise ValueError("a constant is written to one side: give bc_field or crm_field, not both")
        needed = (
            SyncDirection.TO_INTEGRATION_TABLE if self.crm_field else SyncDirection.FROM_INTEGRATION_TABLE
        )
        if self.direction is not needed:
            side = "crm_field" if self.crm_field else "bc_field"
            raise ValueError(f"a constant written to {side} must have direction {needed.value}")
        if self.lookup and not self.crm_field:
            raise ValueError("a constant with a lookup must be written to crm_field")


class Schedule(_Frozen):
    """The job queue entry: BC recurs every 30 minutes, and reruns a failed job after a delay.

    `after` names jobs whose finished runs also start this job (all of them, once each has finished since
    the last run); without `every` or `cron` those runs are the only scheduled ones.
    """

    every: Duration | None = None
    cron: str | None = None
    after: tuple[Name, ...] = ()
    max_attempts: int = Field(default=10, ge=1)
    rerun_delay: Duration = timedelta(seconds=30)

    @model_validator(mode="before")
    @classmethod
    def _not_carried(cls, data: Any) -> Any:
        return _refuse_not_carried(data, "inactivity_timeout")

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("@") or len(value.split()) == 5):
            raise ValueError(f"cron must have five fields or be a preset such as '@hourly', got {value!r}")
        return value

    @field_validator("after")
    @classmethod
    def _check_after(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("after needs at least one job; leave the key out instead")
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"after names {', '.join(twice)} more than once")
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> Schedule:
        if self.every is not None and self.cron is not None:
            if self.after:
                raise ValueError("a schedule with 'after' takes at most one of 'every' and 'cron'")
            raise ValueError("a schedule needs exactly one of 'every' and 'cron'")
        if self.every is None and self.cron is None and not self.after:
            raise ValueError("a schedule needs exactly one of 'every' and 'cron', or 'after'")
        return self

    @property
    def has_timer(self) -> bool:
        """Whether the job also runs on a timer (`every` or `cron`), not only after other jobs."""
        return self.every is not None or self.cron is not None

    def describe(self) -> str:
        parts = []
        if self.every:
            parts.append(f"every {format_duration(self.every)}")
        elif self.cron:
            parts.append(f"cron {self.cron}")
        if self.after:
            parts.append("after " + " & ".join(self.after))
        return ", ".join(parts)


class RuleLookup(_Frozen):
    """A Dataverse lookup that a table rule (code) fills in rather than a field mapping."""

    entity_set: Identifier  # what the lookup points at, e.g. accounts
    navigation: Identifier | None = None  # the navigation property to bind through, if not the attribute


class ConfigTemplate(_Frozen):
    """BC's "Int. Tbl. Config Template Code": values given to every Dataverse record created from BC."""

    code: Name  # BC's template code, e.g. BCICUSTOME
    values: dict[Identifier, str | bool | int | float]


class Coupling(_Frozen):
    """Match-based coupling settings of the table mapping (criteria are on the fields)."""

    # Pairs found by matching are synchronized right away instead of being coupled "in step".
    synch_after_bulk_coupling: bool = False

    @model_validator(mode="before")
    @classmethod
    def _not_carried(cls, data: Any) -> Any:
        return _refuse_not_carried(data, "create_new_if_no_match")


class IntegrationTableMapping(_Frozen):
    """One row of BC's "Integration Table Mapping" (table 5335), with its field mappings."""

    name: Name
    aliases: tuple[Name, ...] = ()  # other names users know it by (BC's own mapping name)
    job_code: Name | None = None  # defaults to `name`; child mappings have no job
    description: str = ""
    bc_table: Name
    bc_endpoint: BcEndpoint
    bc_extension_endpoint: BcEndpoint | None = None  # the custom page over the same rows, extra fields
    bc_key: Identifier = "id"
    bc_modified_field: Identifier | None = "lastModifiedDateTime"
    crm_entity: Identifier
    crm_entity_set: Identifier
    crm_key: Identifier
    crm_modified_field: Identifier = "modifiedon"
    # What other tables refer to a BC record by (a currency by its code, a customer by its number):
    # the value a lookup through this mapping's couplings holds on the BC side.
    bc_natural_key: Identifier = "number"
    # Read besides the mapped fields: what users know a record by, and what the table's rules need.
    bc_read_also: tuple[Identifier, ...] = ()
    crm_read_also: tuple[Identifier, ...] = ()
    crm_rule_lookups: dict[Identifier, RuleLookup] = {}
    int_table_config_template: ConfigTemplate | None = None
    # Whether bcsync builds this job's DAG; off for jobs whose BC table rules are not implemented yet.
    enabled: bool = True
    direction: SyncDirection
    only_coupled: bool = True  # "Synch. Only Coupled Records"
    table_filter: str | None = None  # OData $filter on the BC endpoint
    integration_table_filter: str | None = None  # OData $filter on the Dataverse entity set
    company_filter: bool = False  # Dataverse rows of this company or of none (BC's CompanyId filter)
    dependencies: tuple[Name, ...] = ()  # BC's "Dependency Filter"
    parent: Name | None = None
    update_conflict_resolution: UpdateConflictResolution = UpdateConflictResolution.NONE
    deletion_conflict_resolution: DeletionConflictResolution = DeletionConflictResolution.NONE
    coupling: Coupling = Coupling()
    schedule: Schedule | None = None
    ownership_model: OwnershipModel | None = None  # the job exists only under this ownership model
    fields: tuple[IntegrationFieldMapping, ...]

    @model_validator(mode="before")
    @classmethod
    def _default_field_endpoints(cls, data: Any) -> Any:
        """A field without `bc_api` is on the primary endpoint: fill it so listings show it resolved."""
        _refuse_not_carried(data, "job_kind")
        if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
            return data
        endpoint = data.get("bc_endpoint")
        api = endpoint.get("api") if isinstance(endpoint, dict) else None
        if api is None:
            return data
        fields = [
            {**f, "bc_api": api} if isinstance(f, dict) and f.get("bc_field") and "bc_api" not in f else f
            for f in data["fields"]
        ]
        return {**data, "fields": fields}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dag_id(self) -> str | None:
        """One DAG per job; a child mapping (invoice lines) runs inside its parent's DAG."""
        return None if self.parent else dag_id_for(self.job_code or self.name)

    @property
    def is_child(self) -> bool:
        return self.parent is not None

    @property
    def bc_endpoints(self) -> tuple[BcEndpoint, ...]:
        return (self.bc_endpoint,) + ((self.bc_extension_endpoint,) if self.bc_extension_endpoint else ())

    def endpoint_of(self, field: IntegrationFieldMapping) -> BcEndpoint | None:
        return next((e for e in self.bc_endpoints if e.api is field.bc_api), None)

    def match_groups(self) -> list[list[IntegrationFieldMapping]]:
        """Match-based coupling criteria grouped by priority, lowest first (BC's order)."""
        groups: dict[int, list[IntegrationFieldMapping]] = {}
        for f in self.fields:
            if f.match and f.status is FieldStatus.ENABLED:
                groups.setdefault(f.match.priority, []).append(f)
        return [groups[p] for p in sorted(groups)]


class OptionValue(_Frozen):
    bc_code: Name
    option_value: int
    caption: str


class OptionMapping(_Frozen):
    """BC's option mapping (PAYMENT TERMS, …): BC codes ↔ values of a Dataverse option set.

    The rows are BC's "CRM Option Mapping" table. BC→Sales finds the option value by code; Sales→BC
    finds the code by caption, then by value. A code without a row leaves the destination field as it
    is: bcsync does not add values to option sets (docs/engine.md).
    """

    name: Name
    bc_table: Name
    bc_endpoint: BcEndpoint
    crm_entity: Identifier
    crm_option_field: Identifier
    values: tuple[OptionValue, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _not_carried(cls, data: Any) -> Any:
        reasons = {"create_new_if_no_match": _OPTION_SET_VALUES_NOT_MANAGED}
        return _refuse_not_carried(data, "create_new_if_no_match", reasons=reasons)


class MappingFile(_Frozen):
    """The shape of one YAML file under include/mappings/."""

    mappings: tuple[IntegrationTableMapping, ...] = ()
    option_mappings: tuple[OptionMapping, ...] = ()
