"""Writing a pass's plan to Dataverse: upserts by journalled ids for creates, updates by primary key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, Side, SyncPass
from bcsync.pipeline.rules import RULE_LOOKUPS
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import crm_bind_property
from bcsync.pipeline.writing import results_of, with_new_modified_on
from bcsync.registry.model import IntegrationTableMapping

CRM_BATCH_SIZE = 1000  # records per bulk message or $batch: Dataverse's documented upper bound


def write_crm(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    writes: pd.DataFrame,
    services: Services,
    job_id: str,
) -> pd.DataFrame:
    began = datetime.now(UTC)
    inserts = writes[writes["action"] == "insert"]
    modifies = writes[writes["action"] == "modify"]
    results: list[dict[str, Any]] = []
    if len(inserts):
        proposed = pd.DataFrame(
            {
                "source_id": inserts[SOURCE_ID],
                "destination_id": [str(uuid.uuid4()) for _ in range(len(inserts))],
            }
        )
        journal = services.store.record_pending(mapping.name, sync_pass.value, proposed, job_id=job_id)
        chosen = dict(zip(journal["source_id"], journal["destination_id"], strict=True))
        ids = [chosen[s] for s in inserts[SOURCE_ID]]
        # An upsert by the journalled id: sent twice, it still makes one row.
        results += _send_crm(mapping, services, inserts, ids, "upsert")
    if len(modifies):
        results += _send_crm(mapping, services, modifies, modifies[DESTINATION_ID].tolist(), "update")
    return with_new_modified_on(pd.DataFrame(results), mapping, Side.CRM, services, began)


def _send_crm(
    mapping: IntegrationTableMapping, services: Services, rows: pd.DataFrame, ids: list[str], operation: str
) -> list[dict[str, Any]]:
    bodies = [
        {mapping.crm_key: i, **_crm_body(mapping, p, services)}
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
    return results_of(rows, outcomes, ids)


def _crm_body(
    mapping: IntegrationTableMapping, payload: dict[str, Any] | None, services: Services
) -> dict[str, Any]:
    """Payload → Web API body: lookups become `<navigation>@odata.bind` references."""
    targets = {
        f.crm_field: services.registry.get(f.lookup.mapping).crm_entity_set
        for f in mapping.fields
        if f.lookup and f.crm_field
    }
    targets.update(
        {field: entity_set for (job, field), entity_set in RULE_LOOKUPS.items() if job == mapping.name}
    )
    body: dict[str, Any] = {}
    for name, value in (payload or {}).items():
        if name in targets:
            body[f"{crm_bind_property(name)}@odata.bind"] = f"/{targets[name]}({value})" if value else None
        else:
            body[name] = value
    return body
