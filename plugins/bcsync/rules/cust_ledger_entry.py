"""Cust. Ledger Entry: a posted invoice's payment status in Sales (codeunit 5350, "CRM Statistics Job").

BC reads the invoice's customer ledger entry: nothing left to pay → Paid / Complete; part paid →
Paid / Partial; otherwise Active / Billed; a cancelled invoice (newest BC) → Canceled. The entry's
Amount and Remaining Amount are the invoice's `totalAmountIncludingTax` and `remainingAmount`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bcsync.engine.model import SyncPass
from bcsync.registry.model import IntegrationTableMapping
from bcsync.rules import RuleKind, table_rule

# Dataverse invoice statecode / statuscode.
ACTIVE, PAID, CANCELED = 0, 2, 3
BILLED, COMPLETE, PARTIAL, CANCELED_STATUS = 4, 100001, 100002, 100003


@table_rule("Cust. Ledger Entry", SyncPass.TO_CRM, RuleKind.SOURCE)
def payment_status(mapping: IntegrationTableMapping, source: pd.DataFrame) -> pd.DataFrame:
    """`paymentStateCode` and `paymentStatusCode`: the Sales invoice's state and status from its entry."""
    remaining = pd.to_numeric(source["remainingAmount"], errors="coerce").fillna(0).to_numpy()
    amount = pd.to_numeric(source["totalAmountIncludingTax"], errors="coerce").fillna(0).to_numpy()
    canceled = (source["status"] == "Canceled").to_numpy()
    paid = remaining == 0
    partial = ~paid & (remaining != amount)
    state = np.select([canceled, paid | partial], [CANCELED, PAID], ACTIVE)
    status = np.select([canceled, paid, partial], [CANCELED_STATUS, COMPLETE, PARTIAL], BILLED)
    return source.assign(paymentStateCode=state.astype(int), paymentStatusCode=status.astype(int))
