"""Writing a pass's plan to Dataverse: upserts by journalled ids for creates, updates by primary key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, Side, SyncPass
from bcsync.pipeline.company import company_binding
from bcsync.pipeline.services import Services
from bcsync.pipeline.writing import new_guids, results_frame, with_new_modified_on
from bcsync.registry.model import IntegrationTableMapping

JOURNAL_COLUMNS = ("source_id", "destination_id")  # what sending a create needs of its journal entry
CRM_BATCH_SIZE = 1000  # records per bulk message or $batch: Dataverse's documented upper bound


def write_crm(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    writes: pd.DataFrame,
    services: Services,
    job_id: str,
    *,
    read_back: bool = True,
) -> pd.DataFrame:
    """`read_back=False`: the caller reads the new modified-on back once for all its parts."""
    began = datetime.now(UTC)
    inserts = writes[writes["action"] == "insert"]
    modifies = writes[writes["action"] == "modify"]
    results: list[pd.DataFrame] = []
    if len(inserts):
        proposed = pd.DataFrame(
            {
                "source_id": inserts[SOURCE_ID],
                "destination_id": new_guids(len(inserts)),
            }
        )
        journal = services.store.record_pending(
            mapping.name, sync_pass.value, proposed, job_id=job_id, columns=JOURNAL_COLUMNS
        )
        ids = journalled_ids(journal, inserts[SOURCE_ID])
        # An upsert by the journalled id: sent twice, it still makes one row.
        results.append(
            _send_crm(mapping, services, inserts, ids, "upsert", company_binding(services, mapping, "insert"))
        )
    if len(modifies):
        company = company_binding(services, mapping, "modify")
        results.append(
            _send_crm(mapping, services, modifies, modifies[DESTINATION_ID].tolist(), "update", company)
        )
    written = pd.concat(results, ignore_index=True) if results else pd.DataFrame()
    return with_new_modified_on(written, mapping, Side.CRM, services, began) if read_back else written


def journalled_ids(journal: pd.DataFrame, source_ids: pd.Series) -> list[str]:
    """The destination id journalled for each source id, in their order (looked up column-wise: a
    Python loop over Arrow text columns costs more than the lookup)."""
    at = pd.Index(journal["source_id"]).get_indexer(source_ids)
    if (at < 0).any():
        missing = source_ids[at < 0].iloc[0]
        raise RuntimeError(f"source record {missing} has no open journal entry after journalling it")
    return journal["destination_id"].to_numpy(dtype=object)[at].tolist()


def _send_crm(
    mapping: IntegrationTableMapping,
    services: Services,
    rows: pd.DataFrame,
    ids: list[str],
    operation: str,
    company: dict[str, str],
) -> pd.DataFrame:
    """`company`: BC's company lookup, set on every row written (empty where BC sets none)."""
    binds = lookup_binds(mapping, services)
    bodies = [
        {mapping.crm_key: i, **_crm_body(p, binds), **company}
        for i, p in zip(ids, rows["payload"], strict=True)
    ]
    outcomes = services.crm.write_many(
        mapping.crm_entity_set,
        mapping.crm_entity,
        bodies,
        operation,
        primary_key=mapping.crm_key,
        batch_size=CRM_BATCH_SIZE,
    )
    return results_frame(rows, outcomes, ids)


def _crm_body(payload: dict[str, Any] | None, binds: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Payload → Web API body: lookups become `<navigation>@odata.bind` references."""
    body = dict(payload or {})
    for name in [name for name in binds if name in body]:  # a few lookups; most fields are none
        navigation, entity_set = binds[name]
        value = body.pop(name)
        body[f"{navigation}@odata.bind"] = f"/{entity_set}({value})" if value else None
    return body


def lookup_binds(mapping: IntegrationTableMapping, services: Services) -> dict[str, tuple[str, str]]:
    """Each Dataverse lookup of the mapping → (navigation property, entity set it points at): from the
    field mappings (the related mapping's entity set) and from the lookups the table's rules fill."""
    binds = {
        f.crm_field: (f.crm_navigation or f.crm_field, services.registry.get(f.lookup.mapping).crm_entity_set)
        for f in mapping.fields
        if f.lookup and f.crm_field
    }
    for name, lookup in mapping.crm_rule_lookups.items():
        binds[name] = (lookup.navigation or name, lookup.entity_set)
    return binds
