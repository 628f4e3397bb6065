"""Linked mappings (`linked_to`): records that belong to the records coupled in a parent mapping.

BC's Customer Statistics job (codeunit 5350) is the model: for each customer coupled to an account, the
account's `nav_accountstatistics` row (through `account.nav_accountstatisticsid`) is created the first
time and linked from the account, then updated when the customer's ledger shows activity. The steps
of every job do the rest (plan, write, couplings, results, job log); this module supplies what
differs:

* candidates (extract): the parent's coupled, non-skipped BC records, of which BC processes those never
  uploaded (no coupling of this mapping yet), those that failed last time, and those whose modified-on
  field (the ledger activity) is later than the coupling's last synchronization;
* counterparts (couple): a candidate not yet coupled whose parent Sales row already links to a row is
  coupled to that row, never synchronized, so the plan compares values;
* links (load): each row created is linked from its parent Sales row; a link that fails fails the
  record, which is then created again next run under the same journalled id (no second row).

Without `crm_lookup` the Sales row is the parent's coupled row itself (the same job's invoice payment
status: each coupled posted invoice's Sales invoice), so nothing is created or linked.

The parent's results and watermarks are not touched. The link is written by bcsync's application user,
which the parent's Sales → BC pass leaves out as its own echo; and, as BC's statistics job does, a
parent row that was in step with its coupling before the link stays in step (its coupling's last
synchronized Sales modified-on moves to the row's new one), so the parent's next run neither sees a
change nor a conflict with the next change made in BC.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from bcsync.engine.changes import TOLERANCE, modified_since, to_utc
from bcsync.engine.model import DESTINATION_ID, SOURCE_ID
from bcsync.pipeline.apply import CREATED
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire import odata

log = logging.getLogger(__name__)

_CHUNK = 100  # ids per `$filter`, as `reading.ID_CHUNK`


def parent_of(mapping: IntegrationTableMapping, services: Services) -> IntegrationTableMapping:
    assert mapping.linked_to is not None
    return services.registry.get(mapping.linked_to.mapping)


def linked_candidates(
    mapping: IntegrationTableMapping, services: Services, frames: Iterable[pd.DataFrame], *, everything: bool
) -> Iterator[pd.DataFrame]:
    """The BC records this run processes, from frames of the whole BC page (native columns).

    `everything` (a full synchronization): every coupled parent record, changed or not.
    """
    parent = parent_of(mapping, services)
    parents = services.store.couplings(parent.name)
    in_scope = set(parents.loc[~parents["skipped"].astype(bool), "bc_id"].astype(str).str.lower())
    own = services.store.couplings(mapping.name).set_index("bc_id")
    for frame in frames:
        if not len(frame):
            continue
        ids = frame[mapping.bc_key].astype(str).str.lower()
        keep = ids.isin(in_scope).to_numpy()
        if not everything:
            keep = keep & _due(frame, ids, own, mapping)
        yield frame[keep]


def _due(
    frame: pd.DataFrame, ids: pd.Series, own: pd.DataFrame, mapping: IntegrationTableMapping
) -> np.ndarray:
    """BC's selection: never uploaded, failed last time (and not skipped), or activity since the last run."""
    known = own.reindex(ids)
    coupled = ids.isin(own.index).to_numpy()
    skipped = known["skipped"].fillna(False).astype(bool).to_numpy()
    failed = (known["to_crm_result"] == "Failure").to_numpy() & ~skipped
    field = mapping.bc_modified_field
    activity = pd.to_datetime(
        frame[field] if field in frame.columns else pd.Series(None, index=frame.index),
        utc=True,
        errors="coerce",
        format="ISO8601",
    ).reset_index(drop=True)
    synced = pd.to_datetime(known["bc_synced_on"], utc=True, errors="coerce").reset_index(drop=True)
    later = ((activity - synced) > pd.Timedelta(TOLERANCE)).to_numpy()  # NaT on either side: False
    active = activity.notna().to_numpy() & (synced.isna().to_numpy() | later) & ~skipped
    return ~coupled | failed | active


def linked_pairs(
    mapping: IntegrationTableMapping, services: Services, candidates: pd.DataFrame
) -> pd.DataFrame:
    """(bc_id, crm_id) of the candidates not coupled yet whose parent Sales row links to a row already
    (without `crm_lookup`: the parent's Sales row itself)."""
    own = services.store.couplings(mapping.name)
    uncoupled = sorted(set(candidates[SOURCE_ID]) - set(own["bc_id"].astype(str).str.lower()))
    if not uncoupled:
        return pd.DataFrame()
    parent = parent_of(mapping, services)
    parents = services.store.couplings_for(parent.name, bc_ids=uncoupled)
    if mapping.linked_to.crm_lookup is None:  # the parent's own Sales row
        return pd.DataFrame({"bc_id": parents["bc_id"].astype(str), "crm_id": parents["crm_id"].astype(str)})
    links = _parent_links(mapping, services, parents["crm_id"].astype(str).tolist())
    pairs = pd.DataFrame(
        {"bc_id": parents["bc_id"].astype(str), "crm_id": parents["crm_id"].astype(str).map(links)}
    ).dropna()
    if len(pairs):
        log.info("%s: %d record(s) already linked from their %s row", mapping.name, len(pairs), parent.name)
    return pairs


def _parent_links(mapping: IntegrationTableMapping, services: Services, parent_ids: list[str]) -> dict:
    """Parent Sales row id → the id its lookup holds (rows without a link left out)."""
    assert mapping.linked_to is not None
    column = f"_{mapping.linked_to.crm_lookup}_value"
    rows = _parent_rows(parent_of(mapping, services), services, parent_ids, column)
    return {key: str(row[column]).lower() for key, row in rows.items() if row.get(column)}


def _parent_rows(
    parent: IntegrationTableMapping, services: Services, parent_ids: list[str], column: str
) -> dict[str, dict]:
    """Parent Sales row id → the row's key and `column`, read by id."""
    rows: dict[str, dict] = {}
    for start in range(0, len(parent_ids), _CHUNK):
        chunk = [uuid.UUID(i) for i in parent_ids[start : start + _CHUNK]]
        for page in services.crm.iter_pages(
            parent.crm_entity_set, select=[parent.crm_key, column], filter=odata.in_(parent.crm_key, chunk)
        ):
            rows.update({str(row[parent.crm_key]).lower(): row for row in page})
    return rows


def link_parents(mapping: IntegrationTableMapping, services: Services, outcome: pd.DataFrame) -> pd.DataFrame:
    """Link each row created in this load from its parent Sales row; a failed link fails the record."""
    assert mapping.linked_to is not None
    created = outcome[(outcome["action"] == "insert") & outcome[DESTINATION_ID].notna()]
    if created.empty or mapping.linked_to.crm_lookup is None:
        return outcome
    parent = parent_of(mapping, services)
    parents = services.store.couplings_for(parent.name, bc_ids=created[SOURCE_ID].tolist())
    parent_of_record = dict(zip(parents["bc_id"].astype(str), parents["crm_id"].astype(str), strict=True))
    orphans = created[~created[SOURCE_ID].isin(parent_of_record.keys())]
    _fail_uncoupled(outcome, orphans.index, f"The record is no longer coupled in {parent.name}.")
    linked = created[created[SOURCE_ID].isin(parent_of_record.keys())]
    if linked.empty:
        return outcome
    bind = f"{mapping.linked_to.crm_lookup}@odata.bind"
    parent_ids = [parent_of_record[s] for s in linked[SOURCE_ID]]
    in_step = _in_step(parent, services, parents, parent_ids)
    bodies = [
        {parent.crm_key: p, bind: f"/{mapping.crm_entity_set}({d})"}
        for p, d in zip(parent_ids, linked[DESTINATION_ID], strict=True)
    ]
    outcomes = services.crm.write_many(
        parent.crm_entity_set, parent.crm_entity, bodies, "update", primary_key=parent.crm_key
    )
    for index, result in zip(linked.index, outcomes, strict=True):
        if not result.ok:
            _fail_uncoupled(outcome, [index], f"The {parent.crm_entity} could not be linked: {result.error}")
    relinked = [p for p, result in zip(parent_ids, outcomes, strict=True) if result.ok and p in in_step]
    _keep_in_step(parent, services, relinked)
    return outcome


def _fail_uncoupled(outcome: pd.DataFrame, rows: Any, reason: str) -> None:
    """Fail rows created in this load and leave them uncoupled: the retry sends the create again with
    the journalled id (an upsert of the same row) and links it then."""
    outcome.loc[rows, "action"] = "fail"
    outcome.loc[rows, "error"] = reason
    if CREATED in outcome.columns:
        outcome.loc[rows, CREATED] = False


def _in_step(
    parent: IntegrationTableMapping, services: Services, parents: pd.DataFrame, parent_ids: list[str]
) -> set[str]:
    """The parent Sales rows not modified since the parent last synchronized them."""
    current = _modified_on(parent, services, parent_ids)
    synced = dict(zip(parents["crm_id"].astype(str), parents["crm_synced_on"], strict=True))
    return {p for p in parent_ids if p in current and not modified_since(current[p], synced.get(p))}


def _keep_in_step(parent: IntegrationTableMapping, services: Services, parent_ids: list[str]) -> None:
    """BC's `ModifyCRMAccount`: a row that was in step with its coupling before the link stays in step
    (its coupling's last synchronized modified-on moves to the row's new one), so the link is not a
    change the parent's job would see, nor a conflict with the next change in BC. A row a user changed
    since stays changed."""
    if parent_ids:
        moved = services.store.set_last_synch_crm_modified_on(
            parent.name, _modified_on(parent, services, parent_ids)
        )
        log.info("%s: %d %s coupling(s) kept in step after linking", parent.name, moved, parent.crm_entity)


def _modified_on(parent: IntegrationTableMapping, services: Services, parent_ids: list[str]) -> dict:
    """Parent Sales row id → its modified-on now."""
    return {
        key: to_utc(row[parent.crm_modified_field])
        for key, row in _parent_rows(parent, services, parent_ids, parent.crm_modified_field).items()
    }
