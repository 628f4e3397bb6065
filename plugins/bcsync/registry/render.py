"""The registry as normalized JSON data and as a readable table (behind `bin/bcsync mappings`)."""

from __future__ import annotations

from typing import Any

from bcsync.registry.model import IntegrationFieldMapping, IntegrationTableMapping
from bcsync.registry.registry import Registry


def registry_as_data(registry: Registry) -> list[dict[str, Any]]:
    """One JSON-ready dict per mapping in dependency order; every attribute, defaults included."""
    return [mapping_as_data(m, registry.sources.get(m.name)) for m in registry.mappings]


def mapping_as_data(mapping: IntegrationTableMapping, source: str | None = None) -> dict[str, Any]:
    data = mapping.model_dump(mode="json")
    data["job_code"] = None if mapping.is_child else mapping.job_code or mapping.name
    data["source"] = source
    for field, field_data in zip(mapping.fields, data["fields"], strict=True):
        field_data["is_constant"] = field.is_constant
    # Lead with what people look for first; the rest keeps the model's order.
    leading = ("name", "dag_id", "job_code", "bc_table", "bc_endpoint", "crm_entity", "direction")
    return {**{key: data[key] for key in leading}, **data}


def registry_as_text(registry: Registry) -> str:
    return "\n\n".join(_mapping_text(m, registry.sources.get(m.name)) for m in registry.mappings)


def _mapping_text(m: IntegrationTableMapping, source: str | None) -> str:
    endpoints = " + ".join(f"{e.api} {e.entity_set}" for e in m.bc_endpoints)
    aliases = f" (BC: {', '.join(m.aliases)})" if m.aliases else ""
    job = f"DAG {m.dag_id}" if m.dag_id else f"runs in {m.parent}'s job"
    lines = [
        f"{m.name}{aliases}: {m.bc_table} {m.direction.arrow} {m.crm_entity}   [{job}]",
        f"  {m.description}" if m.description else None,
        f"  direction {m.direction.value}; only coupled records: {'yes' if m.only_coupled else 'no'}",
        f"  BC: {endpoints} (key {m.bc_key}, modified {m.bc_modified_field or '-'})",
        f"  Sales: {m.crm_entity_set} (key {m.crm_key}, modified {m.crm_modified_field})",
        f"  table filter: {m.table_filter}" if m.table_filter else None,
        f"  integration table filter: {m.integration_table_filter}" if m.integration_table_filter else None,
        "  company filter: rows of this company or of none" if m.company_filter else None,
        f"  dependencies: {', '.join(m.dependencies)}" if m.dependencies else None,
        f"  schedule: {m.schedule.describe()}" if m.schedule else None,
        f"  source: {source}" if source else None,
    ]
    rows = [("BC field", "caption", "dir", "Sales field", "notes")]
    rows += [field_row(f) for f in m.fields]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    ]
    return "\n".join([line for line in lines if line is not None] + [line.rstrip() for line in table])


def field_row(f: IntegrationFieldMapping) -> tuple[str, str, str, str, str]:
    notes = []
    if f.is_constant:
        notes.append(f"constant {f.constant!r}")
    if f.lookup:
        notes.append(f"lookup {f.lookup.mapping}" + (" (blank = LCY)" if f.lookup.blank_means_lcy else ""))
    if f.option_mapping:
        notes.append(f"options {f.option_mapping}")
    if f.clear_on_failed_sync:
        notes.append("clear on failed sync")
    if f.not_null:
        notes.append("not null")
    if f.match:
        notes.append(f"match #{f.match.priority}" + (" case-sensitive" if f.match.case_sensitive else ""))
    if f.ownership_model:
        notes.append(f"{f.ownership_model.value} ownership only")
    if f.status.value != "Enabled":
        notes.append(f.status.value)
    bc_field = f"{f.bc_field} ({f.bc_api})" if f.bc_field and f.bc_api != "v2.0" else (f.bc_field or "-")
    return (bc_field, f.bc_caption or "-", f.direction.arrow, f.crm_field or "-", "; ".join(notes))
