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
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pandas as pd
from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowFailException

from bcsync.engine.changes import modified_since_columns
from bcsync.engine.model import Side, SyncPass
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.linked import linked_candidates
from bcsync.pipeline.reading import modified_window, read_by_ids, read_pages
from bcsync.pipeline.references import ResolvedRecord, resolve_records
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import passes
from bcsync.pipeline.staging import read_frame, write_frames
from bcsync.registry.model import IntegrationTableMapping, SyncDirection
from bcsync.results import ExtractResult
from bcsync.store.schema import SyncResult
from bcsync.wire import odata

log = logging.getLogger(__name__)

CRM_LOOK_BACK = timedelta(milliseconds=999)


class UnknownRecords(AirflowFailException):
    """Synchronize Now named ids that are no record of the job's tables: nothing is synchronized, and
    no retry can change that."""


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
    run_passes = passes(mapping, run.direction)
    if source_pass(side) not in run_passes and (run.kind is not RunKind.FULL or not run_passes):
        # Not a source in this run: the couple step reads the coupled counterparts it needs by id.
        return ExtractResult(side=side.value, staged=None, started_at=started_at.isoformat())

    unresolved: list[ResolvedRecord] = []
    look_back: list[pd.DataFrame] = []
    frames = _candidate_frames(mapping, side, run, services, unresolved, look_back)
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
        settled=_settled_in_look_back(mapping, services, look_back),
    )


def unknown_record_ids(
    mapping: IntegrationTableMapping, run: RunContext, extracts: Mapping[Side, ExtractResult | None]
) -> list[str]:
    """Synchronize Now that found none of its records: all of them (BC refuses records of another
    table: "Source table … do not match integration table mapping …"). When some were found, the others
    fail alone, each with the reason its name did not resolve (`references`)."""
    if run.kind is not RunKind.RECORDS:
        return []
    found: set[str] = set()
    for sync_pass in passes(mapping, run.direction):
        extract = extracts.get(sync_pass.source)
        if extract is None or extract.staged is None:
            continue
        key = mapping.bc_key if sync_pass.source is Side.BC else mapping.crm_key
        frame = read_frame(extract.staged, [key])
        if key in frame.columns:
            found.update(frame[key].astype(str).str.lower())
    return [] if found else list(run.record_ids)


def unknown_records_message(mapping: IntegrationTableMapping, run: RunContext, ids: list[str]) -> str:
    tables = [
        f"a {mapping.bc_table} in Business Central"
        if sync_pass.source is Side.BC
        else f"a {mapping.crm_entity} in Dynamics 365 Sales"
        for sync_pass in passes(mapping, run.direction)
    ]
    return (
        f"Synchronize Now: {', '.join(ids)} {'is' if len(ids) == 1 else 'are'} not the id of "
        f"{' or '.join(tables)} (the tables of {mapping.name}); nothing was synchronized."
    )


def _candidate_frames(
    mapping: IntegrationTableMapping,
    side: Side,
    run: RunContext,
    services: Services,
    unresolved: list[ResolvedRecord],
    look_back: list[pd.DataFrame],
) -> Iterator[pd.DataFrame]:
    """The side's candidates, page by page; Sales rows read again only for the look-back (modified
    at or before the watermark) are also put in `look_back`."""
    if run.kind is RunKind.RECORDS:
        resolved = resolve_records(services, mapping, run.record_ids)
        unresolved.extend(r for r in resolved if not r.ok)
        ids = [r.record_id for r in resolved if r.ok and r.side is side and r.record_id]
        if ids:
            yield from read_by_ids(services, mapping, side, ids, apply_filter=False)
        return
    if mapping.linked_to and side is Side.BC:
        # The figures change without the record's modified-on: read the page, then choose as BC does.
        pages = read_pages(services, mapping, side, None)
        yield from linked_candidates(mapping, services, pages, everything=run.kind is RunKind.FULL)
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
        after = watermark - CRM_LOOK_BACK if watermark is not None and side is Side.CRM else watermark
        window = modified_window(mapping, side, after=after)
    seen: set[str] = set()
    key = mapping.bc_key if side is Side.BC else mapping.crm_key
    for frame in read_pages(
        services, mapping, side, odata.all_of(window, _echo_filter(mapping, side, services))
    ):
        if len(frame):
            seen.update(frame[key])
            if run.kind is RunKind.SCHEDULED and side is Side.CRM and watermark is not None:
                look_back.append(_at_or_before(frame, mapping.crm_modified_field, watermark))
        yield frame
    if run.retries_failed_records:
        yield from _failed_last_time(mapping, side, services, seen)


def _at_or_before(frame: pd.DataFrame, field: str | None, watermark: datetime) -> pd.DataFrame:
    if not field or field not in frame.columns:
        return frame.iloc[:0]
    modified = pd.to_datetime(frame[field], utc=True, format="ISO8601")
    return frame[(modified <= pd.Timestamp(watermark)).to_numpy()]


def _settled_in_look_back(
    mapping: IntegrationTableMapping, services: Services, look_back: list[pd.DataFrame]
) -> int:
    """How many look-back rows the last sync already took at this modified-on: BC reads them again and
    counts them Unchanged (IgnoreUnchanged, engine-semantics §1.5) without transferring a value.

    Dataverse keeps seconds, so the newest Sales row is read again by every scheduled run. Counting it
    here lets a run whose only candidates are such rows skip planning and loading (`CoupleOperator`),
    with the same Unchanged counter. Rows of couplings that are not skipped and whose last From result
    is not Failure count: Success, or blank where the row came from our To pass (we created or wrote it
    and took its new modified-on) — the planner finds both unchanged. A failed one is retried by the
    full path, as is anything changed since.
    """
    rows = pd.concat(look_back, ignore_index=True) if look_back else pd.DataFrame()
    if rows.empty:
        return 0
    key, field = mapping.crm_key, mapping.crm_modified_field
    couplings = services.store.couplings_for(mapping.name, crm_ids=rows[key].tolist())
    if couplings.empty:
        return 0
    synced = couplings[
        couplings["from_crm_result"].ne(SyncResult.FAILURE.value) & ~couplings["skipped"].astype(bool)
    ]
    merged = rows[[key, field]].merge(synced[["crm_id", "crm_synced_on"]], left_on=key, right_on="crm_id")
    if merged.empty:
        return 0
    changed = modified_since_columns(
        merged[field].reset_index(drop=True), merged["crm_synced_on"].reset_index(drop=True), len(merged)
    )
    return int((~changed).sum())


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
