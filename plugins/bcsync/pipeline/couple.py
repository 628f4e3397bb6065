"""Couple: match uncoupled records to counterparts, then fetch the coupled counterparts of every candidate.

Match-based coupling runs when this run may create records (a full synchronization, or a mapping
that does not sync only coupled records) and the mapping has match criteria. Newly matched pairs
are coupled as "in step as of now" — both sides' current modified-on are stored — so coupling alone
moves no data, unless the mapping asks for "Synch. After Bulk Coupling".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.engine.matching import match_records
from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    Side,
    SyncPass,
)
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.frames import as_destination, as_source, oriented_couplings
from bcsync.pipeline.reading import read_by_ids, read_pages
from bcsync.pipeline.record import job_lease
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import match_groups, passes
from bcsync.pipeline.staging import read_frame, write_frame, write_frames
from bcsync.registry.model import IntegrationTableMapping
from bcsync.results import CoupleResult, ExtractResult, PassCouplings
from bcsync.store.schema import CoupledBy

log = logging.getLogger(__name__)


def couple(
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    extracts: Mapping[Side, ExtractResult],
) -> CoupleResult:
    """Per pass: couplings (oriented) and destination records staged for the plan step.

    Each side's extract is read once here, whichever passes need it (as source, as match candidates,
    as the counterparts of a full synchronization).

    This is the run's first write, so it takes the job's lease (docs/engine.md, "Never a duplicate"):
    another run of the job in progress makes it wait, then stop. The lease is kept for the load and
    record steps. A dry run writes nothing and takes none.
    """
    if run.dry_run:
        return _couple(mapping, run, services, extracts, folder)
    with job_lease(mapping, run, services, first_step=True):
        return _couple(mapping, run, services, extracts, folder)


def _couple(
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    extracts: Mapping[Side, ExtractResult],
    folder: ObjectStoragePath,
) -> CoupleResult:
    staged = {side: _read(extracts.get(side)) for side in Side}
    if not run.dry_run:
        if run.kind is RunKind.RECORDS:
            _restore_skipped(mapping, services, staged)
        else:
            remove_dead_skipped_couplings(mapping, services)
    result: dict[str, PassCouplings] = {}
    for sync_pass in passes(mapping, run.direction):
        source = staged[sync_pass.source]
        candidates = as_source(source, mapping, sync_pass.source) if len(source) else None
        proposed = pd.DataFrame()
        if candidates is not None and _may_match(mapping, run):
            proposed = _match(mapping, sync_pass, services, candidates, staged[sync_pass.destination])
        coupled = 0
        if len(proposed) and not run.dry_run:
            coupled = services.store.couple(mapping.name, proposed, coupled_by=CoupledBy.MATCH).coupled
            log.info("%s: coupled %d pair(s) by matching", mapping.name, coupled)
        source_ids = set(candidates[SOURCE_ID]) if candidates is not None else set()
        couplings = _couplings_of(mapping, sync_pass, services, source_ids)
        if len(proposed) and run.dry_run:
            # Plan as if coupled, so the dry run shows what the real run would do with these pairs.
            log.info("%s: dry run, %d pair(s) would be coupled by matching", mapping.name, len(proposed))
            couplings = pd.concat([couplings, proposed.assign(skipped=False)], ignore_index=True)
        oriented = oriented_couplings(couplings, sync_pass)
        relevant = oriented[oriented[SOURCE_ID].isin(source_ids)]
        destination = write_frames(
            folder,
            f"destination_{sync_pass.value}",
            _counterparts(
                mapping, sync_pass, services, staged[sync_pass.destination], relevant[DESTINATION_ID].tolist()
            ),
        )
        result[sync_pass.value] = PassCouplings(
            couplings=write_frame(folder, f"couplings_{sync_pass.value}", relevant),
            destination=destination,
            coupled=coupled,
        )
        log.info(
            "%s %s: %d candidate(s), %d coupled counterpart(s) read, %d newly coupled by matching",
            mapping.name,
            sync_pass.value,
            len(source_ids),
            destination.rows,
            coupled,
        )
    return CoupleResult(passes=result)


def _restore_skipped(
    mapping: IntegrationTableMapping, services: Services, staged: Mapping[Side, pd.DataFrame]
) -> None:
    """Synchronize Now clears Skipped on the records it was given, as BC's forced manual sync does."""
    ids = {}
    for side, column, key in ((Side.BC, "bc_ids", mapping.bc_key), (Side.CRM, "crm_ids", mapping.crm_key)):
        frame = staged[side]
        ids[column] = frame[key].astype(str).str.lower().tolist() if len(frame) and key in frame else []
    if ids["bc_ids"] or ids["crm_ids"]:
        restored = services.store.restore_skipped(mapping.name, **ids)
        if restored:
            log.info("%s: %d skipped record(s) restored to synchronize them now", mapping.name, restored)


def remove_dead_skipped_couplings(mapping: IntegrationTableMapping, services: Services) -> int:
    """Delete skipped couplings whose two records are both deleted (BC removes them when the Skipped
    Records page opens): nothing is left to restore or synchronize. Returns how many were removed."""
    skipped = services.store.skipped(mapping.name)
    if skipped.empty:
        return 0
    alive = set()
    for side, column in ((Side.BC, "bc_id"), (Side.CRM, "crm_id")):
        key = mapping.bc_key if side is Side.BC else mapping.crm_key
        for frame in read_by_ids(services, mapping, side, skipped[column].tolist(), apply_filter=False):
            if len(frame):
                alive.update(frame[key].astype(str).str.lower())
    dead = skipped[~skipped["bc_id"].isin(alive) & ~skipped["crm_id"].isin(alive)]
    if dead.empty:
        return 0
    removed = services.store.uncouple(mapping.name, bc_ids=dead["bc_id"].tolist())
    log.info("%s: removed %d skipped coupling(s) whose two records are both deleted", mapping.name, removed)
    return removed


def _counterparts(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    staged: pd.DataFrame,
    wanted: list[str],
) -> Iterator[pd.DataFrame]:
    """The coupled destination records, from the destination's extract when it read everything
    (a full synchronization), else read by id. Ids missing from a full extract are read by id too:
    they lie outside the destination's table filter, or were deleted."""
    if not wanted:
        return
    remaining = set(wanted)
    key = mapping.bc_key if sync_pass.destination is Side.BC else mapping.crm_key
    if len(staged) and key in staged.columns:
        ids = staged[key].astype(str).str.lower()
        hits = staged[ids.isin(remaining)]
        remaining -= set(ids[ids.isin(remaining)])
        yield hits
    if remaining:
        yield from read_by_ids(services, mapping, sync_pass.destination, remaining, apply_filter=False)


def _couplings_of(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, services: Services, source_ids: set[str]
) -> pd.DataFrame:
    """The couplings of this pass's candidates only: a scheduled run reads a handful, not the whole table."""
    if not source_ids:
        return services.store.couplings_for(mapping.name, bc_ids=[])
    side = "bc_ids" if sync_pass is SyncPass.TO_CRM else "crm_ids"
    return services.store.couplings_for(mapping.name, **{side: sorted(source_ids)})


def _may_match(mapping: IntegrationTableMapping, run: RunContext) -> bool:
    return run.kind is RunKind.FULL or not mapping.only_coupled


def _match(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    candidates_source: pd.DataFrame,
    staged_destination: pd.DataFrame,
) -> pd.DataFrame:
    """New pairs (bc_id, crm_id and, unless the mapping syncs after coupling, both synced-on stamps)."""
    groups = match_groups(mapping, sync_pass)
    if not groups:
        return pd.DataFrame()
    couplings = services.store.couplings(mapping.name)
    source_column = "bc_id" if sync_pass is SyncPass.TO_CRM else "crm_id"
    destination_column = "crm_id" if sync_pass is SyncPass.TO_CRM else "bc_id"
    uncoupled = candidates_source[~candidates_source[SOURCE_ID].isin(set(couplings[source_column]))]
    if uncoupled.empty:
        return pd.DataFrame()
    staged = staged_destination
    if staged.empty:  # the destination side was not read in full: read it now (small tables)
        staged = pd.concat(
            list(read_pages(services, mapping, sync_pass.destination, None)) or [pd.DataFrame()]
        )
    candidates = as_destination(staged, mapping, sync_pass.destination) if len(staged) else staged
    if candidates.empty:
        return pd.DataFrame()
    matches = match_records(uncoupled, candidates, groups, set(couplings[destination_column]))
    pairs = matches.dropna(subset=[DESTINATION_ID])
    if pairs.empty:
        return pd.DataFrame()
    rows = pairs.merge(uncoupled[[SOURCE_ID, SOURCE_MODIFIED]], on=SOURCE_ID).merge(
        candidates[[DESTINATION_ID, DESTINATION_MODIFIED]], on=DESTINATION_ID
    )
    to_crm = sync_pass is SyncPass.TO_CRM
    frame = pd.DataFrame(
        {
            "bc_id": rows[SOURCE_ID] if to_crm else rows[DESTINATION_ID],
            "crm_id": rows[DESTINATION_ID] if to_crm else rows[SOURCE_ID],
        }
    )
    if not mapping.coupling.synch_after_bulk_coupling:
        frame["bc_synced_on"] = rows[SOURCE_MODIFIED if to_crm else DESTINATION_MODIFIED]
        frame["crm_synced_on"] = rows[DESTINATION_MODIFIED if to_crm else SOURCE_MODIFIED]
    return frame


def _read(extract: ExtractResult | None) -> pd.DataFrame:
    if extract is None or extract.staged is None:
        return pd.DataFrame()
    return read_frame(extract.staged)
