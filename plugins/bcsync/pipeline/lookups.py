"""Lookup tables for one pass: related records' values translated through other mappings' couplings."""

from __future__ import annotations

import logging

import pandas as pd

from bcsync.engine.model import LookupTable, SyncPass
from bcsync.engine.transform import lookup_table
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import enabled_fields
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire import odata

log = logging.getLogger(__name__)

DEFAULT_LCY = "USD"


def build_lookups(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, services: Services
) -> dict[str, LookupTable]:
    """One LookupTable per related mapping that a field of this pass translates through."""
    tables: dict[str, LookupTable] = {}
    for field in enabled_fields(mapping):
        if not field.lookup or field.lookup.mapping in tables:
            continue
        related = services.registry.get(field.lookup.mapping)
        pairs = _coupled_pairs(related, services)
        to_crm = sync_pass is SyncPass.TO_CRM
        oriented = (
            dict(zip(pairs["natural_key"], pairs["crm_id"], strict=True))
            if to_crm
            else dict(zip(pairs["crm_id"], pairs["natural_key"], strict=True))
        )
        base = base_currency_id(services) if field.lookup.blank_means_lcy else None
        tables[field.lookup.mapping] = lookup_table(
            related.name,
            oriented,
            blank_means=base if to_crm else None,
            maps_to_blank=base if not to_crm else None,
            caption=related.bc_table,
        )
    return tables


def _coupled_pairs(related: IntegrationTableMapping, services: Services) -> pd.DataFrame:
    """`natural_key` (the BC code or No. other tables refer to) and `crm_id` of each coupling."""
    couplings = services.store.couplings(related.name)
    if couplings.empty:
        return pd.DataFrame(columns=["natural_key", "crm_id"])
    endpoint = related.bc_endpoint
    natural_key = related.bc_natural_key
    rows: list[dict] = []
    for page in services.bc.iter_pages(
        endpoint.entity_set, select=[related.bc_key, natural_key], api=endpoint.api.value
    ):
        rows.extend(page)
    records = pd.DataFrame(rows, columns=[related.bc_key, natural_key])
    records[related.bc_key] = records[related.bc_key].astype(str).str.lower()
    merged = couplings.merge(records, left_on="bc_id", right_on=related.bc_key, how="inner")
    return merged.rename(columns={natural_key: "natural_key"})[["natural_key", "crm_id"]]


def base_currency_id(services: Services) -> str | None:
    """Sales' base currency: the transaction currency whose ISO code is BC's local currency (LCY)."""
    lcy = str(services.bc.settings.extra.get("lcy_code") or DEFAULT_LCY)
    for page in services.crm.iter_pages(
        "transactioncurrencies",
        select=["transactioncurrencyid", "isocurrencycode"],
        filter=odata.eq("isocurrencycode", lcy),
    ):
        for row in page:
            return str(row["transactioncurrencyid"]).lower()
    log.warning(
        "no Sales transaction currency has ISO code %s (BC's LCY): blank currency codes stay blank", lcy
    )
    return None
