"""Couple: match uncoupled records to counterparts, then fetch the coupled counterparts of every candidate.

Match-based coupling runs when this run may create records (a full synchronization, or a mapping
that does not sync only coupled records) and the mapping has match criteria. Newly matched pairs
are coupled as "in step as of now" — both sides' current modified-on are stored — so coupling alone
moves no data, unless the mapping asks for "Synch. After Bulk Coupling": then the pairs are written
in this run, in the direction BC's follow-up job would take (`synchronized_after_coupling`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from functools import cache, partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from airflow.sdk import ObjectStoragePath

from bcsync.engine.matching import matched_rows
from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    Side,
    SyncPass,
    UpdateConflictResolution,
)
from bcsync.engine.values import is_in
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.extract import UnknownRecords, unknown_record_ids, unknown_records_message
from bcsync.pipeline.frames import (
    as_destination,
    as_destination_of_source,
    as_source,
    oriented_couplings,
)
from bcsync.pipeline.linked import linked_pairs
from bcsync.pipeline.reading import read_by_ids, read_pages
from bcsync.pipeline.record import job_lease
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import match_groups, passes, side_columns
from bcsync.pipeline.staging import iter_frames, write_frame, write_frames
from bcsync.registry.model import IntegrationTableMapping
from bcsync.results import CoupleResult, ExtractResult, PassCouplings
from bcsync.rules import RuleKind, find_uncoupled, rule_for
from bcsync.store.schema import CoupledBy

log = logging.getLogger(__name__)

# What the planner reads of a coupling (`oriented_couplings`), in both directions.
COUPLING_COLUMNS = [
    "bc_id",
    "crm_id",
    "bc_synced_on",
    "crm_synced_on",
    "to_crm_result",
    "from_crm_result",
    "skipped",
]


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
    unknown = unknown_record_ids(mapping, run, extracts)
    if unknown:
        raise UnknownRecords(unknown_records_message(mapping, run, unknown))
    # Only the columns coupling reads (ids, modified-on, match fields), converted a part at a time
    # (`_records`): the counterparts' other fields stream from the destination's extract part by part
    # (`_counterparts`).
    records = {
        side: _records(extracts.get(side), couple_columns(mapping, run, side), mapping, side) for side in Side
    }
    if not run.dry_run:
        if run.kind is RunKind.RECORDS:
            _restore_skipped(mapping, services, records)
        else:
            remove_dead_skipped_couplings(mapping, services)
    run_passes = passes(mapping, run.direction)
    candidates = {p: records[p.source] for p in run_passes if len(records[p.source])}
    # Each side is held once: as a pass's candidates, and under the destination's names for matching.
    staged = {p.destination: as_destination_of_source(records[p.destination]) for p in run_passes}
    del records
    # Every pass matches first (the From pass sees what the To pass coupled), then each reads couplings.
    proposed, found, coupled = _couple_by_matching(mapping, run, services, candidates, staged)
    del staged
    matched = pd.concat([pd.DataFrame(columns=["bc_id", "crm_id"]), *proposed.values()], ignore_index=True)

    result: dict[str, PassCouplings] = {}
    for sync_pass in run_passes:
        # Unique (`as_source`), and Arrow text: no Python string per candidate.
        source_ids = candidates[sync_pass][SOURCE_ID] if sync_pass in candidates else pd.Series(dtype=str)
        couplings = _couplings_of(
            mapping, sync_pass, services, source_ids, everything=run.kind is RunKind.FULL
        )[COUPLING_COLUMNS]
        new_pairs = pd.concat([proposed[sync_pass], found[sync_pass]], ignore_index=True)
        if len(new_pairs) and run.dry_run:
            # Plan as if coupled, so the dry run shows what the real run would do with these pairs.
            log.info("%s: dry run, %d pair(s) would be coupled", mapping.name, len(new_pairs))
            couplings = pd.concat([couplings, new_pairs.assign(skipped=False)], ignore_index=True)
        oriented = oriented_couplings(couplings, sync_pass)
        relevant = oriented[is_in(oriented[SOURCE_ID], source_ids)]
        # Written whatever changed: pairs coupled by matching under "Synch. After Bulk Coupling", and
        # counterparts the table's rule found (BC forces the modify of both).
        forced = [found[sync_pass]] if len(found[sync_pass]) else []
        if mapping.coupling.synch_after_bulk_coupling and sync_pass is synchronized_after_coupling(mapping):
            forced.append(matched)
        if forced:
            relevant = _force_new_pairs(relevant, pd.concat(forced, ignore_index=True), sync_pass)
        destination = write_frames(
            folder,
            f"destination_{sync_pass.value}",
            _counterparts(
                mapping,
                sync_pass,
                services,
                extracts.get(sync_pass.destination),
                relevant[DESTINATION_ID],
            ),
        )
        result[sync_pass.value] = PassCouplings(
            couplings=write_frame(folder, f"couplings_{sync_pass.value}", relevant),
            destination=destination,
            coupled=coupled[sync_pass],
        )
        log.info(
            "%s %s: %d candidate(s), %d coupled counterpart(s) read, %d newly coupled by matching",
            mapping.name,
            sync_pass.value,
            len(source_ids),
            destination.rows,
            coupled[sync_pass],
        )
    return CoupleResult(passes=result)


def _couple_by_matching(
    mapping: IntegrationTableMapping,
    run: RunContext,
    services: Services,
    candidates: dict[SyncPass, pd.DataFrame],
    staged: dict[Side, pd.DataFrame],
) -> tuple[dict[SyncPass, pd.DataFrame], dict[SyncPass, pd.DataFrame], dict[SyncPass, int]]:
    """Per pass, the pairs matching proposes, those the table's FIND_UNCOUPLED rule found, and how many
    matched pairs were coupled (none coupled in a dry run).

    Once a pass has matched, what the rest of the step does not read is let go before its pairs are
    written: its destination's records (no other pass matches against them) and all but the ids of
    its candidates."""
    proposed: dict[SyncPass, pd.DataFrame] = {}
    found: dict[SyncPass, pd.DataFrame] = {}
    coupled: dict[SyncPass, int] = {}
    for sync_pass in passes(mapping, run.direction):
        proposed[sync_pass], found[sync_pass], coupled[sync_pass] = pd.DataFrame(), pd.DataFrame(), 0
        if sync_pass in candidates and mapping.linked_to:
            proposed[sync_pass] = linked_pairs(mapping, services, candidates[sync_pass])
        elif sync_pass in candidates and _may_match(mapping, run):
            # Read at most once per pass, and only when matching or a table rule needs it.
            destination = cache(
                partial(_destination_candidates, mapping, sync_pass, services, staged[sync_pass.destination])
            )
            proposed[sync_pass] = _match(mapping, sync_pass, services, candidates[sync_pass], destination)
            found[sync_pass] = _found(
                mapping, sync_pass, services, candidates[sync_pass], proposed[sync_pass], destination
            )
            del destination
        staged.pop(sync_pass.destination, None)
        if sync_pass in candidates:
            candidates[sync_pass] = candidates[sync_pass][[SOURCE_ID]]
        if len(proposed[sync_pass]) and not run.dry_run:
            outcome = services.store.couple(mapping.name, proposed[sync_pass], coupled_by=CoupledBy.MATCH)
            coupled[sync_pass] = outcome.coupled
            log.info("%s: coupled %d pair(s) by matching", mapping.name, outcome.coupled)
        if len(found[sync_pass]) and not run.dry_run:
            # Not BC's "Coupled" counter: the plan writes these pairs (forced) and counts them Modified.
            outcome = services.store.couple(mapping.name, found[sync_pass], coupled_by=CoupledBy.MATCH)
            what = "%s: coupled %d record(s) to the counterpart its table's rule found"
            log.info(what, mapping.name, outcome.coupled)
    return proposed, found, coupled


def synchronized_after_coupling(mapping: IntegrationTableMapping) -> SyncPass:
    """The pass that writes pairs coupled by matching under "Synch. After Bulk Coupling": the mapping's
    direction, or for a bidirectional one its update-conflict resolution's winner (BC wins under None,
    since BC's follow-up job runs the To pass first)."""
    if not mapping.direction.to_bc:
        return SyncPass.TO_CRM
    if not mapping.direction.to_crm:
        return SyncPass.FROM_CRM
    wins_sales = mapping.update_conflict_resolution is UpdateConflictResolution.GET_UPDATE_FROM_INTEGRATION
    return SyncPass.FROM_CRM if wins_sales else SyncPass.TO_CRM


def _force_new_pairs(relevant: pd.DataFrame, matched: pd.DataFrame, sync_pass: SyncPass) -> pd.DataFrame:
    """Mark this run's pairs coupled by matching to be written whatever changed (BC's follow-up job
    uses ForceModify), so each counts Modified as in BC."""
    bc, crm = (SOURCE_ID, DESTINATION_ID) if sync_pass is SyncPass.TO_CRM else (DESTINATION_ID, SOURCE_ID)
    # Each pair as one integer (codes of the two ids, factorised with the matched ones): no tuple per pair.
    size = len(relevant)
    bc_codes, _ = pd.factorize(pd.concat([relevant[bc], matched["bc_id"].astype(str)]), use_na_sentinel=False)
    crm_codes, crm_ids = pd.factorize(
        pd.concat([relevant[crm], matched["crm_id"].astype(str)]), use_na_sentinel=False
    )
    pairs = bc_codes.astype(np.int64) * len(crm_ids) + crm_codes
    new = np.isin(pairs[:size], pairs[size:])
    return relevant.assign(force_modify=pd.Series(new, index=relevant.index, dtype=bool))


def _restore_skipped(
    mapping: IntegrationTableMapping, services: Services, records: Mapping[Side, pd.DataFrame]
) -> None:
    """Synchronize Now clears Skipped on the records it was given (`records`: as `_records` reads
    them), as BC's forced manual sync does."""
    ids = {}
    for side, column in ((Side.BC, "bc_ids"), (Side.CRM, "crm_ids")):
        frame = records[side]
        ids[column] = frame[SOURCE_ID].tolist() if len(frame) and SOURCE_ID in frame else []
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
    extract: ExtractResult | None,
    wanted: pd.Series,
) -> Iterator[pd.DataFrame]:
    """The coupled destination records, from the destination's extract when it read everything
    (a full synchronization), else read by id. Ids missing from a full extract are read by id too:
    they lie outside the destination's table filter, or were deleted. The extract is read a part at
    a time, so only one page of the destination's records is held. An id found in a part is not
    taken again from a later part."""
    if not len(wanted):
        return
    # The wanted ids once each, as Arrow text, and which of them a part has given: each part is
    # looked up in one call, without a Python string per id.
    ids_wanted = pa.array(pd.unique(wanted.astype(str)), type=pa.large_string())
    found = np.zeros(len(ids_wanted), dtype=bool)
    key = mapping.bc_key if sync_pass.destination is Side.BC else mapping.crm_key
    parts = iter_frames(extract.staged) if extract is not None and extract.staged is not None else ()
    for part in parts:
        if not len(part) or key not in part.columns:
            continue
        ids = pa.array(part[key].astype(str).str.lower().array).cast(pa.large_string())
        at = pc.index_in(ids, value_set=ids_wanted).to_numpy(zero_copy_only=False)
        listed = ~np.isnan(at)
        positions = at[listed].astype(np.int64)
        known = np.zeros(len(part), dtype=bool)
        known[np.flatnonzero(listed)[~found[positions]]] = True
        if known.any():
            found[at[known].astype(np.int64)] = True
            yield part[known]
    if not found.all():
        remaining = set(ids_wanted.filter(pa.array(~found)).to_pylist())
        yield from read_by_ids(services, mapping, sync_pass.destination, remaining, apply_filter=False)


def _couplings_of(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    source_ids: pd.Series,
    *,
    everything: bool = False,
) -> pd.DataFrame:
    """The couplings of this pass's candidates only: a scheduled run reads a handful, not the whole table.
    A full synchronization's candidates are the whole table: one query for every coupling of the
    mapping instead of one per batch of ids (the caller keeps its candidates' couplings)."""
    if not len(source_ids):
        return services.store.couplings_for(mapping.name, bc_ids=[])
    if everything:
        return services.store.couplings(mapping.name, columns=COUPLING_COLUMNS)
    side = "bc_ids" if sync_pass is SyncPass.TO_CRM else "crm_ids"
    return services.store.couplings_for(mapping.name, **{side: sorted(source_ids.tolist())})


def _may_match(mapping: IntegrationTableMapping, run: RunContext) -> bool:
    return run.kind is RunKind.FULL or not mapping.only_coupled


def _match(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    candidates_source: pd.DataFrame,
    destination: Callable[[], pd.DataFrame],
) -> pd.DataFrame:
    """New pairs (bc_id, crm_id and, unless the mapping syncs after coupling, both synced-on stamps)."""
    groups = match_groups(mapping, sync_pass)
    if not groups:
        return pd.DataFrame()
    couplings = services.store.couplings(mapping.name, columns=["bc_id", "crm_id"])
    source_column = "bc_id" if sync_pass is SyncPass.TO_CRM else "crm_id"
    destination_column = "crm_id" if sync_pass is SyncPass.TO_CRM else "bc_id"
    uncoupled = candidates_source[~is_in(candidates_source[SOURCE_ID], couplings[source_column])]
    if uncoupled.empty:
        return pd.DataFrame()
    candidates = destination()
    if candidates.empty:
        return pd.DataFrame()
    # By position: the pairs' ids and times are taken from the two frames, with no Python object per id
    # (`as_source` and `as_destination` keep each id once).
    source_rows, candidate_rows = matched_rows(
        uncoupled, candidates, groups, couplings[destination_column], ids_unique=True
    )
    if not len(source_rows):
        return pd.DataFrame()
    rows = pd.concat(
        [
            uncoupled[[SOURCE_ID, SOURCE_MODIFIED]].take(source_rows).reset_index(drop=True),
            candidates[[DESTINATION_ID, DESTINATION_MODIFIED]].take(candidate_rows).reset_index(drop=True),
        ],
        axis=1,
    )
    to_crm = sync_pass is SyncPass.TO_CRM
    frame = pd.DataFrame(
        {
            "bc_id": rows[SOURCE_ID] if to_crm else rows[DESTINATION_ID],
            "crm_id": rows[DESTINATION_ID] if to_crm else rows[SOURCE_ID],
        }
    )
    stamps = {
        "bc_synced_on": rows[SOURCE_MODIFIED if to_crm else DESTINATION_MODIFIED],
        "crm_synced_on": rows[DESTINATION_MODIFIED if to_crm else SOURCE_MODIFIED],
    }
    if mapping.coupling.synch_after_bulk_coupling:
        # The writing pass's source stays "never synced", so a run that stops before writing leaves
        # the pair to the next run; the other side is in step, so the other pass finds it unchanged.
        writer = synchronized_after_coupling(mapping).source
        stamps.pop("bc_synced_on" if writer is Side.BC else "crm_synced_on")
    return frame.assign(**stamps)


def _found(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    candidates: pd.DataFrame,
    matched: pd.DataFrame,
    destination_candidates: Callable[[], pd.DataFrame],
) -> pd.DataFrame:
    """Counterparts the BC table's FIND_UNCOUPLED rule found for records still uncoupled (BC's
    OnFindUncoupledDestinationRecord), one-to-one; the plan then writes them whatever changed, as BC
    forces the modify."""
    if rule_for(mapping.bc_table, sync_pass, RuleKind.FIND_UNCOUPLED) is None:
        return pd.DataFrame()
    source_column, destination_column = (
        ("bc_id", "crm_id") if sync_pass is SyncPass.TO_CRM else ("crm_id", "bc_id")
    )
    couplings = services.store.couplings(mapping.name, columns=["bc_id", "crm_id"])
    coupled_sources = set(couplings[source_column]) | set(matched.get(source_column, ()))
    uncoupled = candidates[~is_in(candidates[SOURCE_ID], coupled_sources)]
    if uncoupled.empty:
        return pd.DataFrame()
    taken = set(couplings[destination_column]) | set(matched.get(destination_column, ()))
    destination = destination_candidates()
    free = destination[~is_in(destination[DESTINATION_ID], taken)] if len(destination) else destination
    found = find_uncoupled(mapping, sync_pass, uncoupled, free, services)
    if found.empty:
        return pd.DataFrame()
    found = (
        found[~found[DESTINATION_ID].isin(taken)].drop_duplicates(DESTINATION_ID).drop_duplicates(SOURCE_ID)
    )
    return pd.DataFrame(
        {source_column: found[SOURCE_ID].tolist(), destination_column: found[DESTINATION_ID].tolist()}
    )


def _destination_candidates(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, services: Services, staged: pd.DataFrame
) -> pd.DataFrame:
    """The destination records to match against (`as_destination`): as the extract staged them
    (`staged`, converted already) or, when that side was not read in full, read now (small tables)."""
    if not staged.empty:
        return staged
    read = pd.concat(list(read_pages(services, mapping, sync_pass.destination, None)) or [pd.DataFrame()])
    return as_destination(read, mapping, sync_pass.destination) if len(read) else read


def couple_columns(mapping: IntegrationTableMapping, run: RunContext, side: Side) -> list[str] | None:
    """The columns of `side`'s extract that coupling reads: the key, the modified-on and the match
    fields. None (every column) when a linked mapping or a table's FIND_UNCOUPLED rule looks at the
    records themselves."""
    run_passes = passes(mapping, run.direction)
    if mapping.linked_to or any(rule_for(mapping.bc_table, p, RuleKind.FIND_UNCOUPLED) for p in run_passes):
        return None
    columns = side_columns(mapping, side)
    wanted = [columns.key, *([columns.modified] if columns.modified else [])]
    for sync_pass in run_passes:
        for group in match_groups(mapping, sync_pass):
            for field in group:
                name = field.source_field if sync_pass.source is side else field.destination_field
                wanted += [name, f"_{name}_value"]  # a Dataverse lookup is read as _x_value
    return wanted


def _records(
    extract: ExtractResult | None, columns: list[str] | None, mapping: IntegrationTableMapping, side: Side
) -> pd.DataFrame:
    """`side`'s staged records as coupling reads them (`as_source`: the key as a lower-case id, the
    modified-on as a time, each id once, its last record kept), converted a part at a time: only one
    part is held as the extract staged it."""
    if extract is None or extract.staged is None:
        return pd.DataFrame()
    parts = [
        as_source(part, mapping, side) for part in iter_frames(extract.staged, columns) if len(part.columns)
    ]
    if not parts:
        return pd.DataFrame()
    # Arrow text columns are concatenated without copying their values.
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    del parts
    repeated = frame[SOURCE_ID].duplicated(keep="last")  # an id in two parts
    return frame[~repeated].reset_index(drop=True) if repeated.any() else frame
