"""From the mapping registry to what each step needs: columns to read per side and engine PassSpecs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bcsync.engine.matching import MatchField
from bcsync.engine.model import DeletionConflictResolution, FieldRule, PassSpec, Side, SyncPass
from bcsync.registry.model import (
    BcApi,
    FieldStatus,
    IntegrationFieldMapping,
    IntegrationTableMapping,
    SyncDirection,
)
from bcsync.registry.registry import Registry

# BC maps constants to these "type" companions of polymorphic lookups (owneridtype = systemuser);
# the Web API has no such column: the type follows from the entity set the lookup is bound to.
CRM_LOOKUP_TYPE_COMPANIONS = frozenset({"owneridtype", "parentcustomeridtype", "customeridtype"})


@dataclass(frozen=True)
class SideColumns:
    """What to read from one side: key, modified-on and the mapped fields, per BC endpoint."""

    side: Side
    key: str
    modified: str | None
    fields_by_endpoint: dict[str, tuple[str, ...]]  # BC: api → fields; Dataverse: "" → fields
    lookup_fields: frozenset[str] = frozenset()  # Dataverse lookups: read as _x_value

    def select(self, endpoint: str = "") -> list[str]:
        wanted = [self.key] + ([self.modified] if self.modified else [])
        for name in self.fields_by_endpoint.get(endpoint, ()):
            column = f"_{name}_value" if name in self.lookup_fields else name
            if column not in wanted:
                wanted.append(column)
        return wanted


def enabled_fields(mapping: IntegrationTableMapping) -> list[IntegrationFieldMapping]:
    return [
        f
        for f in mapping.fields
        if f.status is FieldStatus.ENABLED and f.crm_field not in CRM_LOOKUP_TYPE_COMPANIONS
    ]


def passes(mapping: IntegrationTableMapping, only: str | None = None) -> list[SyncPass]:
    """The passes a run makes, To before From (BC's order); `only` restricts a bidirectional job."""
    result = []
    if mapping.direction.to_crm:
        result.append(SyncPass.TO_CRM)
    if mapping.direction.to_bc:
        result.append(SyncPass.FROM_CRM)
    if only:
        result = [p for p in result if p.value == only]
    return result


def side_columns(mapping: IntegrationTableMapping, side: Side) -> SideColumns:
    if side is Side.BC:
        by_endpoint: dict[str, list[str]] = {}
        for field in enabled_fields(mapping):
            if field.bc_field:
                api = (field.bc_api or mapping.bc_endpoint.api).value
                by_endpoint.setdefault(api, []).append(field.bc_field)
        by_endpoint.setdefault(mapping.bc_endpoint.api.value, []).extend(mapping.bc_read_also)
        return SideColumns(
            side=side,
            key=mapping.bc_key,
            modified=mapping.bc_modified_field,
            fields_by_endpoint={api: tuple(dict.fromkeys(names)) for api, names in by_endpoint.items()},
        )
    extra = mapping.crm_read_also
    names = tuple(dict.fromkeys([*(f.crm_field for f in enabled_fields(mapping) if f.crm_field), *extra]))
    lookups = frozenset(
        [
            *(f.crm_field for f in enabled_fields(mapping) if f.crm_field and f.lookup),
            *mapping.crm_rule_lookups,
        ]
    )
    return SideColumns(
        side=side,
        key=mapping.crm_key,
        modified=mapping.crm_modified_field,
        fields_by_endpoint={"": names},
        lookup_fields=lookups,
    )


def pass_fields(
    mapping: IntegrationTableMapping, sync_pass: SyncPass
) -> list[tuple[IntegrationFieldMapping, str | None, str]]:
    """The enabled field mappings that take part in `sync_pass`, each with its source and destination
    field in that pass."""
    wanted = (
        SyncDirection.TO_INTEGRATION_TABLE
        if sync_pass is SyncPass.TO_CRM
        else SyncDirection.FROM_INTEGRATION_TABLE
    )
    to_crm = sync_pass is SyncPass.TO_CRM
    result = []
    for field in enabled_fields(mapping):
        if field.direction not in (wanted, SyncDirection.BIDIRECTIONAL):
            continue
        source, destination = (
            (field.bc_field, field.crm_field) if to_crm else (field.crm_field, field.bc_field)
        )
        if destination is not None:
            result.append((field, source, destination))
    return result


def field_rules(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    registry: Registry,
    max_lengths: Mapping[str, int] | None = None,
) -> tuple[FieldRule, ...]:
    """The enabled field mappings that take part in `sync_pass`, oriented source → destination.

    `max_lengths`: the destination's text lengths by destination field (from the services' metadata,
    `bcsync.pipeline.transform.destination_lengths`); longer text is truncated to them, as BC does.
    """
    to_crm = sync_pass is SyncPass.TO_CRM
    rules = []
    for field, source, destination in pass_fields(mapping, sync_pass):
        option_map = None
        if field.option_mapping:
            values = registry.option_mapping(field.option_mapping).values
            option_map = (
                {v.bc_code: v.option_value for v in values}
                if to_crm
                else {v.option_value: v.bc_code for v in values}
            )
        rules.append(
            FieldRule(
                source_field=None if field.is_constant else source,
                destination_field=destination,
                caption=field.bc_caption or field.crm_field or destination,
                bidirectional=field.direction is SyncDirection.BIDIRECTIONAL,
                constant=field.constant,
                is_constant=field.is_constant,
                lookup=field.lookup.mapping if field.lookup else None,
                option_map=option_map,
                clear_on_failed_sync=field.clear_on_failed_sync,
                not_null=field.not_null,
                max_length=(max_lengths or {}).get(destination),
            )
        )
    return tuple(rules)


def pass_spec(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    registry: Registry,
    *,
    full_sync: bool = False,
    force_modify: bool = False,
    max_lengths: Mapping[str, int] | None = None,
    restore_deleted: bool = False,
) -> PassSpec:
    """`restore_deleted`: a coupled record whose counterpart was deleted creates it again (BC's Restore
    on the Skipped Records page), whatever the mapping's deletion-conflict resolution."""
    crm_caption = mapping.crm_entity.capitalize()
    to_crm = sync_pass is SyncPass.TO_CRM
    return PassSpec(
        mapping=mapping.name,
        sync_pass=sync_pass,
        fields=field_rules(mapping, sync_pass, registry, max_lengths),
        bidirectional_mapping=mapping.direction is SyncDirection.BIDIRECTIONAL,
        # A full synchronization runs on a copy of the mapping with "Synch. Only Coupled Records" off.
        only_coupled=mapping.only_coupled and not full_sync,
        update_conflict=mapping.update_conflict_resolution,
        deletion_conflict=DeletionConflictResolution.RESTORE_RECORDS
        if restore_deleted
        else mapping.deletion_conflict_resolution,
        force_modify=force_modify,
        source_caption=mapping.bc_table if to_crm else crm_caption,
        destination_caption=crm_caption if to_crm else mapping.bc_table,
    )


def match_groups(mapping: IntegrationTableMapping, sync_pass: SyncPass) -> list[list[MatchField]]:
    """Match-based coupling criteria oriented for the pass's source side."""
    to_crm = sync_pass is SyncPass.TO_CRM
    groups = []
    for group in mapping.match_groups():
        fields = [
            MatchField(
                source_field=(f.bc_field if to_crm else f.crm_field) or "",
                destination_field=(f.crm_field if to_crm else f.bc_field) or "",
                case_sensitive=bool(f.match and f.match.case_sensitive),
            )
            for f in group
            if f.bc_field and f.crm_field
        ]
        if fields:
            groups.append(fields)
    return groups


def bc_api_route(api: BcApi | str) -> str:
    return "v2.0" if BcApi(api) is BcApi.STANDARD else "custom"
