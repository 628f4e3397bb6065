"""Extract: read one side's candidate records for this run and stage them.

Which records are candidates is BC's rule (engine-semantics §1.2): those modified after the
direction's watermark (Sales rows with a one-second look-back, since Dataverse stores seconds),
plus every coupling that failed last time and is not skipped. A full synchronization reads
everything; a backfill reads what was modified inside the run's data interval; "Synchronize Now"
reads the given records, named by id, BC number or code, or Sales name or number.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import Side, SyncPass
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.reading import modified_window, read_by_ids, read_pages
from bcsync.pipeline.references import ResolvedRecord, resolve_records
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import passes
from bcsync.pipeline.staging import write_frames
from bcsync.registry.model import IntegrationTableMapping, SyncDirection
from bcsync.results import ExtractResult
from bcsync.wire import odata

log = logging.getLogger(__name__)

CRM_LOOK_BACK = timedelta(milliseconds=999)


def source_pass(side: Side) -> SyncPass:
    """The pass in which `side` is the source."""
    return SyncPass.TO_CRM if side is Side.BC else SyncPass.FROM_CRM


def extract(
    mapping: IntegrationTableMapping,
    side: Side,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
) -> ExtractResult:
    """Stage this side's candidates (a part per API page)."""
    started_at = datetime.now(UTC)
    is_source = source_pass(side) in passes(mapping, run.direction)
    if not is_source and run.kind is not RunKind.FULL:
        # Not a source in this run: the couple step reads the coupled counterparts it needs by id.
        return ExtractResult(side=side.value, staged=None, started_at=started_at.isoformat())

    unresolved: list[ResolvedRecord] = []
    frames = _candidate_frames(mapping, side, run, services, unresolved)
    max_seen: list[datetime] = []
    staged = write_frames(folder, f"extract_{side.value}", _tracking(frames, mapping, side, max_seen))
    log.info("%s: read %d %s record(s) (%s run)", mapping.name, staged.rows, side.value, run.kind.value)
    if unresolved and side is passes(mapping, run.direction)[0].source:
        _report_unresolved(mapping, run, services, unresolved)  # once per run: by the first pass's side
    else:
        unresolved = []
    return ExtractResult(
        side=side.value,
        staged=staged,
        started_at=started_at.isoformat(),
        max_modified=max(max_seen).isoformat() if max_seen else None,
        unresolved=len(unresolved),
    )


def _candidate_frames(
    mapping: IntegrationTableMapping,
    side: Side,
    run: RunContext,
    services: Services,
    unresolved: list[ResolvedRecord],
) -> Iterator[pd.DataFrame]:
    if run.kind is RunKind.RECORDS:
        resolved = resolve_records(services, mapping, run.record_ids)
        unresolved.extend(r for r in resolved if not r.ok)
        ids = [r.record_id for r in resolved if r.ok and r.side is side and r.record_id]
        if ids:
            yield from read_by_ids(services, mapping, side, ids, apply_filter=False)
        return
    if run.kind is RunKind.FULL:
        yield from read_pages(services, mapping, side, None)
        return
    if run.kind is RunKind.BACKFILL:
        window = modified_window(
            mapping, side, not_before=run.data_interval_start, before=run.data_interval_end
        )
    else:
        watermark = services.store.get_watermark(mapping.name, source_pass(side).value)
        if watermark is not None and side is Side.CRM:
            watermark -= CRM_LOOK_BACK
        window = modified_window(mapping, side, after=watermark)
    seen: set[str] = set()
    key = mapping.bc_key if side is Side.BC else mapping.crm_key
    for frame in read_pages(
        services, mapping, side, odata.all_of(window, _echo_filter(mapping, side, services))
    ):
        if len(frame):
            seen.update(frame[key])
        yield frame
    if run.retries_failed_records:
        yield from _failed_last_time(mapping, side, services, seen)


def _report_unresolved(
    mapping: IntegrationTableMapping, run: RunContext, services: Services, unresolved: list[ResolvedRecord]
) -> None:
    """A record named that no record has fails alone: its log line and error, the rest goes on."""
    direction = passes(mapping, run.direction)[0].value
    for record in unresolved:
        log.error(
            "SYNC ERROR job=%s direction=%s record=%s reason=%s",
            mapping.name,
            direction,
            record.reference,
            record.problem,
        )
    if run.dry_run:
        return
    services.store.add_record_errors(
        pd.DataFrame(
            {
                "mapping": mapping.name,
                "direction": direction,
                "name": [r.reference for r in unresolved],
                "message": [r.problem for r in unresolved],
                "run_id": run.run_id,
                "task_id": run.task_id,
                "try_number": run.try_number,
            }
        )
    )


def _failed_last_time(
    mapping: IntegrationTableMapping, side: Side, services: Services, already: set[str]
) -> Iterator[pd.DataFrame]:
    """BC re-processes couplings that failed last time, changed or not (skipped ones excepted)."""
    failed = services.store.failed_last_time(mapping.name, source_pass(side).value)
    column = "bc_id" if side is Side.BC else "crm_id"
    ids = [i for i in failed[column].tolist() if i not in already] if len(failed) else []
    if ids:
        log.info("%s: %d record(s) failed last time and are read again", mapping.name, len(ids))
        yield from read_by_ids(services, mapping, side, ids, apply_filter=True)


def _echo_filter(mapping: IntegrationTableMapping, side: Side, services: Services) -> odata.Filter | None:
    """Leave out Sales rows last written by bcsync's own application user (BC's echo prevention).

    As in BC, only for bidirectional mappings, and not when some fields flow Sales → BC only: then
    the integration user's own edits on the Sales side must still come back.
    """
    if side is not Side.CRM or mapping.direction is not SyncDirection.BIDIRECTIONAL:
        return None
    if any(f.direction is SyncDirection.FROM_INTEGRATION_TABLE for f in mapping.fields):
        return None
    user_id = services.crm.whoami().get("UserId")
    return odata.ne("_modifiedby_value", uuid.UUID(user_id)) if user_id else None


def _tracking(
    frames: Iterator[pd.DataFrame], mapping: IntegrationTableMapping, side: Side, max_seen: list[datetime]
) -> Iterator[pd.DataFrame]:
    """Pass frames through while remembering the latest modified-on seen (for the watermark)."""
    field = mapping.bc_modified_field if side is Side.BC else mapping.crm_modified_field
    for frame in frames:
        if field and field in frame.columns and len(frame):
            latest = pd.to_datetime(frame[field], utc=True, format="ISO8601").max()
            if not pd.isna(latest):
                max_seen.append(latest.to_pydatetime())
        yield frame
