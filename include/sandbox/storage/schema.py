"""The shape of an entity as the local services store and expose it.

One `EntitySchema` per table of either service. The SQL tables, `$metadata`, `EntityDefinitions`,
query validation (unknown column → error) and write validation (types, lengths, read-only) are all
derived from these declarations, so each fact about a table is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

Service = Literal["dataverse", "bc"]


class AttributeType(StrEnum):
    STRING = "string"
    MEMO = "memo"  # long text (Dataverse memo, BC Blob/text > 250)
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"  # Dataverse money; a decimal on the wire
    BOOLEAN = "boolean"
    GUID = "guid"
    DATETIME = "datetime"  # UTC, ISO 8601 with Z on the wire
    DATE = "date"  # YYYY-MM-DD
    CHOICE = "choice"  # Dataverse option set / state / status (integer on the wire)
    ENUM = "enum"  # BC enum / option: a string member name on the wire (e.g. "Company", " ")
    LOOKUP = "lookup"  # Dataverse lookup: stored as its GUID, exposed as _<name>_value


@dataclass(frozen=True)
class Attribute:
    """One column.

    `name` is the logical name (Dataverse) or the JSON property (BC). For a Dataverse LOOKUP, `name`
    is the lookup's logical name (e.g. "parentcustomerid"); it is stored in column `_<name>_value`
    and written through `<nav_property>@odata.bind`.
    """

    name: str
    type: AttributeType
    max_length: int | None = None
    required: bool = False
    read_only: bool = False  # set by the service (ids, audit fields, computed figures)
    default: Any = None
    # LOOKUP only: navigation property -> target logical name, e.g.
    # {"parentcustomerid_account": "account", "parentcustomerid_contact": "contact"}.
    targets: dict[str, str] = field(default_factory=dict)
    # CHOICE / ENUM: the allowed values (ints for CHOICE, member names for ENUM); empty = any.
    options: tuple[Any, ...] = ()
    caption: str | None = None  # display name for metadata

    @property
    def column(self) -> str:
        """The SQL column (and, for Dataverse lookups, the wire property) holding the value."""
        return f"_{self.name}_value" if self.type is AttributeType.LOOKUP else self.name


@dataclass(frozen=True)
class EntitySchema:
    """One table of one service."""

    service: Service
    logical_name: str  # "account", "customer", "salesInvoiceLine"
    set_name: str  # entity set / URL segment: "accounts", "customers"
    key: str  # primary key attribute: "accountid" or "id"
    attributes: tuple[Attribute, ...]
    modified_on: str  # "modifiedon" / "lastModifiedDateTime" (set by the service on every write)
    created_on: str | None = None  # "createdon" (Dataverse) / None
    primary_name: str | None = None  # Dataverse PrimaryNameAttribute, e.g. "name"
    alternate_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key name -> attributes
    # Secondary keys (not unique): what the service's own triggers look rows up by, as BC's table keys.
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key name -> attributes
    change_tracking: bool = False  # Dataverse: Prefer: odata.track-changes allowed
    bulk_messages: bool = True  # Dataverse: CreateMultiple/UpdateMultiple/UpsertMultiple supported
    company_scoped: bool = False  # BC: lives under companies({id})
    parent: tuple[str, str] | None = None  # BC lines: (parent logical name, foreign key attribute)
    api_route: str = "v2.0"  # BC: "v2.0" (standard API) or "custom" (our documented API-page extension)
    entity_type_code: int | None = None  # Dataverse ObjectTypeCode

    def attribute(self, name: str) -> Attribute | None:
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Attribute]:
        # Lookups answer to both their logical name and their _x_value column.
        index: dict[str, Attribute] = {}
        for attribute in self.attributes:
            index[attribute.name] = attribute
            index[attribute.column] = attribute
        return index
