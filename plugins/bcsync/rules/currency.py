"""Currency: a currency sent to Sales carries its exchange rate and, when created, its precision."""

from __future__ import annotations

import logging
import re
from decimal import Decimal

import pandas as pd

from bcsync.engine.model import SOURCE_ID, SyncPass
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import WRITES, table_rule
from bcsync.wire.errors import RecordRejected

log = logging.getLogger(__name__)


@table_rule("Currency", SyncPass.TO_CRM)
def exchange_rate_and_precision(
    mapping: IntegrationTableMapping, plan: pd.DataFrame, source: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """CRM Synch. Helper: a currency needs its exchange rate (and, when created, its precision)."""
    rates = _exchange_rates(services)
    codes = dict(zip(source[SOURCE_ID], source["code"], strict=True)) if "code" in source.columns else {}
    decimals = _decimal_places(source)
    for index in plan.index[plan["action"].isin(WRITES)]:
        code = str(codes.get(plan.at[index, SOURCE_ID], ""))
        rate = rates.get(code.upper())
        if rate is None:
            plan.at[index, "action"] = "fail"
            plan.at[index, "error"] = (
                f"Cannot create or update the currency {code} in Dynamics 365 Sales, because there is no "
                "exchange rate defined for it."
            )
            continue
        payload = dict(plan.at[index, "payload"] or {})
        payload["exchangerate"] = float(rate)
        if plan.at[index, "action"] == "insert":
            payload["currencyprecision"] = decimals.get(plan.at[index, SOURCE_ID], 2)
        plan.at[index, "payload"] = payload
    return plan


def _exchange_rates(services: Services) -> dict[str, Decimal]:
    """Units of each currency per one unit of LCY, from BC's latest exchange rate of each currency."""
    latest: dict[str, tuple[str, Decimal]] = {}
    pages = services.bc.iter_pages(
        "currencyExchangeRates",
        select=["currencyCode", "startingDate", "exchangeRateAmount", "relationalExchangeRateAmount"],
    )
    try:
        rows = [row for page in pages for row in page]
    except RecordRejected as rejection:
        log.warning("cannot read BC's currency exchange rates (%s): currencies cannot be sent", rejection)
        return {}
    for row in rows:
        amount = Decimal(str(row["exchangeRateAmount"]))
        relational = Decimal(str(row["relationalExchangeRateAmount"]))
        code, starting = str(row["currencyCode"]).upper(), str(row["startingDate"])
        if relational and (code not in latest or starting > latest[code][0]):
            latest[code] = (starting, amount / relational)
    return {code: rate for code, (_, rate) in latest.items()}


def _decimal_places(source: pd.DataFrame) -> dict[str, int]:
    """BC's "Amount Decimal Places" (e.g. "2:2", "0:0") → Dataverse currency precision (the maximum)."""
    if "amountDecimalPlaces" not in source.columns:
        return {}
    out = {}
    for source_id, text in zip(source[SOURCE_ID], source["amountDecimalPlaces"], strict=True):
        numbers = [int(n) for n in re.findall(r"\d+", str(text or ""))]
        out[source_id] = max(numbers) if numbers else 2
    return out
