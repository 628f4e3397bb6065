"""Load: apply one pass's plan to its destination, then record couplings, results and errors.

Writes go in bulk (Dataverse bulk messages or `$batch`, BC JSON `$batch`); a record the service
refuses fails alone. Creates are journalled first (pending writes), so a task retried after a crash
never creates a second record: Dataverse creates reuse the journalled client-chosen id (an upsert
by primary key), and BC creates — BC chooses its ids — are looked for before being sent again.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from airflow.sdk import ObjectStoragePath

from bcsync.clients import odata
from bcsync.clients.writes import WriteResult
from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    Side,
    SyncPass,
)
from bcsync.engine.planner import count_actions
from bcsync.pipeline.context import RunContext
from bcsync.pipeline.frames import as_destination, as_source, oriented_couplings
from bcsync.pipeline.reading import modified_window, read_by_ids, read_pages
from bcsync.pipeline.record import job_id_for, job_type
from bcsync.pipeline.rules import RULE_LOOKUPS
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import crm_bind_property, passes
from bcsync.pipeline.staging import StagedFrame, read_frame, write_frame
from bcsync.pipeline.transform import plan_records
from bcsync.registry.model import BcApi, IntegrationTableMapping
from bcsync.store.schema import CoupledBy

log = logging.getLogger(__name__)

WRITES = ("insert", "modify")
CRM_BATCH_SIZE = 1000  # records per bulk message or $batch: Dataverse's documented upper bound
READ_BACK_BY_ID = 500  # above this, read back by modified-on window rather than by id chunks
CLOCK_MARGIN = timedelta(minutes=5)
_NO_FILTERS = {"table_filter": None, "integration_table_filter": None}


def load(
    mapping: IntegrationTableMapping,
    destination: Side,
    run: RunContext,
    services: Services,
    folder: ObjectStoragePath,
    transformed: dict[str, Any],
) -> dict[str, Any]:
    sync_pass = SyncPass.TO_CRM if destination is Side.CRM else SyncPass.FROM_CRM
    if sync_pass not in passes(mapping, run.direction):
        return {"pass": sync_pass.value, "ran": False}
    step = transformed[sync_pass.value]
    plan = read_frame(StagedFrame.from_xcom(step["plan"]))
    if run.dry_run:
        return {"pass": sync_pass.value, "ran": True, "dry_run": True, "counters": step["planned"]}

    job_id = job_id_for(run, mapping, sync_pass)
    services.store.start_job(
        mapping.name, sync_pass.value, job_type=job_type(run), run_id=run.run_id, job_id=job_id
    )
    settled = _settled_by_earlier_tries(folder, sync_pass, run.try_number)
    outcome = _plan_for_this_try(mapping, sync_pass, run, services, plan, settled)
    if len(outcome):
        writes = outcome[outcome["action"].isin(WRITES)]
        if len(writes):
            written = (
                _write_crm(mapping, sync_pass, writes, services, job_id)
                if destination is Side.CRM
                else _write_bc(mapping, sync_pass, writes, services, job_id)
            )
            outcome = _merge_writes(outcome, written)
        _record(mapping, sync_pass, run, services, job_id, outcome)
    write_frame(folder, f"results_{sync_pass.value}_try{run.try_number}", outcome)
    # The job's counters cover the whole run: what earlier tries settled plus this try's outcomes.
    counters = count_actions(pd.concat([settled["action"], outcome["action"]], ignore_index=True))
    failed = int((outcome["action"] == "fail").sum()) if len(outcome) else 0
    return {
        "pass": sync_pass.value,
        "ran": True,
        "job_id": job_id,
        "counters": counters.as_dict(),
        "failed": failed,
    }


# ---- retries -----------------------------------------------------------------------------------------


def _settled_by_earlier_tries(
    folder: ObjectStoragePath, sync_pass: SyncPass, try_number: int
) -> pd.DataFrame:
    """Outcomes earlier tries of this task recorded, other than failures (source id and action)."""
    frames = []
    for earlier in range(1, try_number):
        path = folder / f"results_{sync_pass.value}_try{earlier}"
        if path.exists():
            frames.append(read_frame(str(path)))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({SOURCE_ID: pd.Series(dtype=object), "action": pd.Series(dtype=object)})
    earlier = pd.concat(frames, ignore_index=True).drop_duplicates(SOURCE_ID, keep="last")
    return earlier.loc[earlier["action"] != "fail", [SOURCE_ID, "action"]]


def _plan_for_this_try(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    plan: pd.DataFrame,
    settled: pd.DataFrame,
) -> pd.DataFrame:
    """The first try applies the staged plan. A retry — Airflow's, or a user clearing the task —
    leaves what earlier tries settled alone and plans everything else again from fresh reads: data
    fixed since is picked up, and work an interrupted try committed shows up as unchanged, not redone."""
    if run.try_number <= 1 or plan.empty:
        return plan.copy()
    ids = plan.loc[~plan[SOURCE_ID].isin(set(settled[SOURCE_ID])), SOURCE_ID].tolist()
    log.info(
        "%s %s try %d: %d record(s) planned again", mapping.name, sync_pass.value, run.try_number, len(ids)
    )
    if not ids:
        return plan.iloc[0:0].copy()
    source = _read(services, mapping, sync_pass.source, ids, as_source)
    side_ids = {"bc_ids" if sync_pass is SyncPass.TO_CRM else "crm_ids": ids}
    couplings = oriented_couplings(services.store.couplings_for(mapping.name, **side_ids), sync_pass)
    destination = _read(
        services, mapping, sync_pass.destination, couplings[DESTINATION_ID].tolist(), as_destination
    )
    return plan_records(mapping, sync_pass, run, services, source, couplings, destination)


def _read(
    services: Services, mapping: IntegrationTableMapping, side: Side, ids: list[str], shape
) -> pd.DataFrame:
    frames = [f for f in read_by_ids(services, mapping, side, ids, apply_filter=False) if len(f)]
    return shape(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), mapping, side)


# ---- Dataverse ---------------------------------------------------------------------------------------


def _write_crm(
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
    return _with_new_modified_on(pd.DataFrame(results), mapping, Side.CRM, services, began)


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
    return _results(rows, outcomes, ids)


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


# ---- Business Central ------------------------------------------------------------------------------


def _write_bc(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    writes: pd.DataFrame,
    services: Services,
    job_id: str,
) -> pd.DataFrame:
    api_of = {f.bc_field: (f.bc_api or mapping.bc_endpoint.api) for f in mapping.fields if f.bc_field}
    primary, extension = mapping.bc_endpoint, mapping.bc_extension_endpoint
    began = datetime.now(UTC)
    inserts = writes[writes["action"] == "insert"]
    modifies = writes[writes["action"] == "modify"]
    results: list[dict[str, Any]] = []

    if len(inserts):
        found = _reconcile_pending_bc(mapping, sync_pass, services, inserts)
        services.store.record_pending(
            mapping.name, sync_pass.value, pd.DataFrame({"source_id": inserts[SOURCE_ID]}), job_id=job_id
        )
        todo = inserts[~inserts[SOURCE_ID].isin(found)]
        for source_id, bc_id in found.items():
            if source_id in set(inserts[SOURCE_ID]):
                results.append({SOURCE_ID: source_id, DESTINATION_ID: bc_id, "ok": True, "error": None})
        bodies = [_split(p, api_of, primary.api)[0] for p in todo["payload"]]
        outcomes = services.bc.write_many(primary.entity_set, bodies, "create", api=primary.api.value)
        created = _results(todo, outcomes, [o.id for o in outcomes])
        results += created
        if extension is not None:
            _write_extension(services, extension, todo, created, api_of, primary.api)

    if len(modifies):
        bodies = []
        for row in modifies.itertuples(index=False):
            fields = _split(row.payload, api_of, primary.api)[0]
            bodies.append({"id": row.destination_id, "@odata.etag": row.etag or "*", **fields})
        outcomes = services.bc.write_many(primary.entity_set, bodies, "update", api=primary.api.value)
        updated = _results(modifies, outcomes, modifies[DESTINATION_ID].tolist())
        results += updated
        if extension is not None:
            _write_extension(services, extension, modifies, updated, api_of, primary.api)
    return _with_new_modified_on(pd.DataFrame(results), mapping, Side.BC, services, began)


def _split(payload: dict[str, Any] | None, api_of: dict[str, BcApi], primary: BcApi) -> tuple[dict, dict]:
    """The payload's fields per BC page; a blank becomes "" (BC's text and code fields have no null)."""
    main, extra = {}, {}
    for name, value in (payload or {}).items():
        (main if api_of.get(name, primary) is primary else extra)[name] = "" if value is None else value
    return main, extra


def _write_extension(services, extension, rows: pd.DataFrame, outcomes: list[dict], api_of, primary) -> None:
    """Fields only our custom API page has are written there, after the standard page's write."""
    ok = {o[SOURCE_ID]: o[DESTINATION_ID] for o in outcomes if o["ok"]}
    bodies, sources = [], []
    for row in rows.itertuples(index=False):
        extra = _split(row.payload, api_of, primary)[1]
        if extra and row.source_id in ok:
            bodies.append({"id": ok[row.source_id], **extra})
            sources.append(row.source_id)
    if not bodies:
        return
    results = services.bc.write_many(
        extension.entity_set, bodies, "update", api=extension.api.value, if_match="*"
    )
    failures = {sources[r.index]: str(r.error) for r in results if not r.ok}
    for outcome in outcomes:
        if outcome[SOURCE_ID] in failures:
            outcome["ok"], outcome["error"] = False, failures[outcome[SOURCE_ID]]


def _reconcile_pending_bc(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, services: Services, inserts: pd.DataFrame
) -> dict[str, str]:
    """Creates journalled by an earlier try that were never recorded: did BC commit them?

    BC's API takes no client-chosen ids, so a committed create is recognised by content: an uncoupled
    record of this table, modified since the journal entry, whose fields equal the planned payload —
    exactly one such record per pending create. Found ones are coupled instead of created again;
    the others are abandoned and sent again.
    """
    pending = services.store.list_pending(mapping.name, sync_pass.value)
    if pending.empty:
        return {}
    modified = mapping.bc_modified_field or "lastModifiedDateTime"
    since = pd.to_datetime(pending["created_on"], utc=True).min().to_pydatetime() - timedelta(seconds=2)
    coupled = set(services.store.couplings(mapping.name)["bc_id"])
    payloads = dict(zip(inserts[SOURCE_ID], inserts["payload"], strict=True))
    primary = _split_fields(mapping)
    fields = sorted({name for p in payloads.values() for name in (p or {}) if name in primary})
    recent = [
        row
        for page in services.bc.iter_pages(
            mapping.bc_endpoint.entity_set,
            select=[mapping.bc_key, *fields],
            filter=odata.ge(modified, since),
            api=mapping.bc_endpoint.api.value,
        )
        for row in page
        if str(row[mapping.bc_key]).lower() not in coupled
    ]
    found: dict[str, str] = {}
    for source_id in pending["source_id"]:
        wanted = {
            k: ("" if v is None else v) for k, v in (payloads.get(source_id) or {}).items() if k in primary
        }
        matches = [r for r in recent if wanted and all(r.get(k) == v for k, v in wanted.items())]
        if len(matches) == 1:
            found[source_id] = str(matches[0][mapping.bc_key]).lower()
    lost = [s for s in pending["source_id"] if s not in found]
    if lost:
        services.store.abandon(mapping.name, sync_pass.value, lost)
    log.info(
        "%s: %d create(s) pending from an earlier try; %d found in BC", mapping.name, len(pending), len(found)
    )
    return found


def _split_fields(mapping: IntegrationTableMapping) -> set[str]:
    """The BC fields written through the mapping's primary page."""
    return {
        f.bc_field
        for f in mapping.fields
        if f.bc_field and (f.bc_api or mapping.bc_endpoint.api) is mapping.bc_endpoint.api
    }


# ---- shared ----------------------------------------------------------------------------------------


def _results(rows: pd.DataFrame, outcomes: list[WriteResult], ids: list[str | None]) -> list[dict[str, Any]]:
    out = []
    for row, outcome, record_id in zip(rows.itertuples(index=False), outcomes, ids, strict=True):
        out.append(
            {
                SOURCE_ID: row.source_id,
                DESTINATION_ID: (outcome.id or record_id or "").lower() or None,
                "ok": outcome.ok,
                "error": None if outcome.ok else str(outcome.error),
            }
        )
    return out


def _with_new_modified_on(
    written: pd.DataFrame, mapping: IntegrationTableMapping, side: Side, services: Services, since: datetime
) -> pd.DataFrame:
    """Read back the destination's modified-on after our write: the coupling stores it, so our own
    write is not mistaken for a change on that side next time.

    Few records are read by id; many by "modified since the writes began" (a page holds thousands).
    """
    if written.empty:
        return written
    ok_ids = written.loc[written["ok"], DESTINATION_ID].dropna().tolist()
    if len(ok_ids) <= READ_BACK_BY_ID:
        frames = list(read_by_ids(services, mapping, side, ok_ids, apply_filter=False)) if ok_ids else []
    else:
        # Minutes of margin absorb a clock difference between us and the service.
        window = modified_window(mapping, side, not_before=since - CLOCK_MARGIN)
        frames = list(read_pages(services, mapping.model_copy(update=_NO_FILTERS), side, window))
    current = (
        as_destination(pd.concat(frames, ignore_index=True), mapping, side) if frames else pd.DataFrame()
    )
    modified = (
        dict(zip(current[DESTINATION_ID], current[DESTINATION_MODIFIED], strict=True)) if len(current) else {}
    )
    written["new_destination_modified"] = written[DESTINATION_ID].map(modified)
    return written


def _merge_writes(outcome: pd.DataFrame, written: pd.DataFrame) -> pd.DataFrame:
    """Write outcomes onto the plan rows: the destination id and modified-on, or the failure."""
    if written.empty:
        return outcome
    results = written.drop_duplicates(SOURCE_ID, keep="last").set_index(SOURCE_ID)
    is_write = outcome["action"].isin(WRITES) & outcome[SOURCE_ID].isin(results.index)
    ok = outcome[SOURCE_ID].map(results["ok"]).fillna(False).astype(bool) & is_write
    failed = is_write & ~ok
    outcome.loc[ok, DESTINATION_ID] = outcome.loc[ok, SOURCE_ID].map(results[DESTINATION_ID])
    outcome.loc[ok, DESTINATION_MODIFIED] = outcome.loc[ok, SOURCE_ID].map(
        results["new_destination_modified"]
    )
    outcome.loc[failed, "action"] = "fail"
    outcome.loc[failed, "error"] = outcome.loc[failed, SOURCE_ID].map(results["error"])
    return outcome


def _record(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    job_id: str,
    outcome: pd.DataFrame,
) -> None:
    to_crm = sync_pass is SyncPass.TO_CRM
    store = services.store
    bc_col, crm_col = (SOURCE_ID, DESTINATION_ID) if to_crm else (DESTINATION_ID, SOURCE_ID)

    inserted = outcome[(outcome["action"] == "insert") & outcome[DESTINATION_ID].notna()]
    if len(inserted):
        pairs = pd.DataFrame({"bc_id": inserted[bc_col], "crm_id": inserted[crm_col]})
        replacing = inserted["replaces_coupling"].astype(bool)
        if replacing.any():
            store.uncouple(
                mapping.name,
                **{("bc_ids" if to_crm else "crm_ids"): inserted.loc[replacing, SOURCE_ID].tolist()},
            )
        store.couple(mapping.name, pairs, coupled_by=CoupledBy.CREATE)
        store.confirm(mapping.name, sync_pass.value, inserted[SOURCE_ID].tolist())

    removed = outcome[outcome["action"] == "remove_coupling"]
    if len(removed):
        store.uncouple(mapping.name, **{("bc_ids" if to_crm else "crm_ids"): removed[SOURCE_ID].tolist()})

    settled = outcome[outcome["action"].isin(["insert", "modify", "unchanged", "fail"])]
    if len(settled):
        success = settled["action"] != "fail"
        source_modified = pd.to_datetime(settled[SOURCE_MODIFIED], utc=True)
        destination_modified = pd.to_datetime(settled[DESTINATION_MODIFIED], utc=True)
        frame = pd.DataFrame(
            {
                "bc_id" if to_crm else "crm_id": settled[SOURCE_ID],
                "result": success.map({True: "Success", False: "Failure"}),
                "bc_modified_on": (source_modified if to_crm else destination_modified).where(success),
                "crm_modified_on": (destination_modified if to_crm else source_modified).where(success),
                "message": settled["error"].where(~success),
            }
        )
        recorded = store.record_sync_results(mapping.name, sync_pass.value, frame, job_id=job_id)
        if len(recorded.newly_skipped):
            skipped = set(recorded.newly_skipped["bc_id" if to_crm else "crm_id"])
            outcome.loc[outcome[SOURCE_ID].isin(skipped) & (outcome["action"] == "fail"), "action"] = "skip"

    failed = outcome[outcome["action"] == "fail"]
    if len(failed):
        _log_failures(mapping, sync_pass, run, services, job_id, failed)


def _log_failures(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    run: RunContext,
    services: Services,
    job_id: str,
    failed: pd.DataFrame,
) -> None:
    to_crm = sync_pass is SyncPass.TO_CRM
    for row in failed.itertuples(index=False):
        bc_id, crm_id = (row.source_id, row.destination_id) if to_crm else (row.destination_id, row.source_id)
        log.error(
            "SYNC ERROR job=%s direction=%s bc_id=%s bc_record=%s crm_id=%s reason=%s",
            mapping.name,
            sync_pass.value,
            bc_id,
            row.label if to_crm else "",
            crm_id,
            row.error,
        )
    services.store.add_record_errors(
        pd.DataFrame(
            {
                "mapping": mapping.name,
                "direction": sync_pass.value,
                "bc_id": failed[SOURCE_ID if to_crm else DESTINATION_ID],
                "crm_id": failed[DESTINATION_ID if to_crm else SOURCE_ID],
                "bc_number": failed["label"] if to_crm else None,
                "message": failed["error"].fillna("unknown error"),
                "job_id": job_id,
                "run_id": run.run_id,
                "task_id": run.task_id,
                "try_number": run.try_number,
                "logged_on": datetime.now(UTC),
            }
        )
    )
