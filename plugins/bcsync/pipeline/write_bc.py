"""Writing a pass's plan to Business Central: JSON `$batch` on the standard page and, for the fields
only our API page has, on that page; creates are journalled and found again after a lost answer:
by the SystemId bcsync chose, where our API page over the table takes one, else by content."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from bcsync.engine.model import DESTINATION_ID, SOURCE_ID, Side, SyncPass
from bcsync.pipeline.config_templates import table_template_values
from bcsync.pipeline.reading import read_by_ids
from bcsync.pipeline.services import Services
from bcsync.pipeline.writing import new_guids, results_of, with_new_modified_on
from bcsync.registry.model import BcApi, BcEndpoint, IntegrationTableMapping
from bcsync.wire import odata

log = logging.getLogger(__name__)


def write_bc(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    writes: pd.DataFrame,
    services: Services,
    job_id: str,
    *,
    read_back: bool = True,
) -> pd.DataFrame:
    """`read_back=False`: the caller reads the new modified-on back once for all its parts."""
    api_of = {f.bc_field: (f.bc_api or mapping.bc_endpoint.api) for f in mapping.fields if f.bc_field}
    primary, extension = mapping.bc_endpoint, mapping.bc_extension_endpoint
    began = datetime.now(UTC)
    inserts = writes[writes["action"] == "insert"]
    modifies = writes[writes["action"] == "modify"]
    results: list[dict[str, Any]] = []

    if len(inserts) and (id_page := page_taking_ids(mapping)) is not None:
        created = _create_with_chosen_ids(mapping, sync_pass, services, inserts, job_id, api_of, id_page)
        results += created
        if extension is not None:
            # The mapping's table config template over the mapped values, as BC applies it after the transfer.
            _apply_table_template(mapping, services, extension, inserts, created)
    elif len(inserts):
        found = _reconcile_pending_bc(mapping, sync_pass, services, inserts)
        services.store.record_pending(
            mapping.name, sync_pass.value, pd.DataFrame({"source_id": inserts[SOURCE_ID]}), job_id=job_id
        )
        todo = inserts[~inserts[SOURCE_ID].isin(found)]
        created = [
            {SOURCE_ID: source_id, DESTINATION_ID: bc_id, "ok": True, "error": None}
            for source_id, bc_id in found.items()
            if source_id in set(inserts[SOURCE_ID])
        ]
        bodies = [_split(p, api_of, primary.api)[0] for p in todo["payload"]]
        outcomes = services.bc.write_many(primary.entity_set, bodies, "create", api=primary.api.value)
        created += results_of(todo, outcomes, [o.id for o in outcomes])
        results += created
        if extension is not None:
            # A create found again after its lost answer never had its second request: send it now.
            # The mapping's table config template follows the create there, as BC applies it after.
            template = table_template_values(mapping, services) or {}
            _write_extension(services, extension, inserts, created, api_of, primary.api, template=template)

    if len(modifies):
        bodies = []
        for row in modifies.itertuples(index=False):
            fields = _split(row.payload, api_of, primary.api)[0]
            bodies.append({"id": row.destination_id, "@odata.etag": row.etag or "*", **fields})
        outcomes = services.bc.write_many(primary.entity_set, bodies, "update", api=primary.api.value)
        updated = results_of(modifies, outcomes, modifies[DESTINATION_ID].tolist())
        results += updated
        if extension is not None:
            _write_extension(services, extension, modifies, updated, api_of, primary.api)
    written = pd.DataFrame(results)
    return with_new_modified_on(written, mapping, Side.BC, services, began) if read_back else written


def _split(payload: dict[str, Any] | None, api_of: dict[str, BcApi], primary: BcApi) -> tuple[dict, dict]:
    """The payload's fields per BC page; a blank becomes "" (BC's text and code fields have no null)."""
    main, extra = {}, {}
    for name, value in (payload or {}).items():
        (main if api_of.get(name, primary) is primary else extra)[name] = "" if value is None else value
    return main, extra


def _write_extension(
    services: Services,
    extension: BcEndpoint,
    rows: pd.DataFrame,
    outcomes: list[dict[str, Any]],
    api_of: dict[str, BcApi],
    primary: BcApi,
    part: int = 1,
    template: dict[str, Any] | None = None,
) -> list[str]:
    """Fields only our custom API page has are written there, after the standard page's write
    (`part` 1); or, after a create on the custom page, the standard page's fields there (`part` 0);
    with `template`'s values over them (a configuration template's). Returns the source ids whose
    write failed (their outcome says why)."""
    ok = {o[SOURCE_ID]: o[DESTINATION_ID] for o in outcomes if o["ok"]}
    bodies, sources = [], []
    for row in rows.itertuples(index=False):
        fields = {**_split(row.payload, api_of, primary)[part], **(template or {})}
        if fields and row.source_id in ok:
            bodies.append({"id": ok[row.source_id], **fields})
            sources.append(row.source_id)
    if not bodies:
        return []
    results = services.bc.write_many(
        extension.entity_set, bodies, "update", api=extension.api.value, if_match="*"
    )
    failures = {sources[r.index]: str(r.error) for r in results if not r.ok}
    for outcome in outcomes:
        if outcome[SOURCE_ID] in failures:
            outcome["ok"], outcome["error"] = False, failures[outcome[SOURCE_ID]]
    return list(failures)


def _apply_table_template(
    mapping: IntegrationTableMapping,
    services: Services,
    extension: BcEndpoint,
    inserts: pd.DataFrame,
    created: list[dict[str, Any]],
) -> None:
    """The table config template's values written on our page over the new records' mapped ones."""
    template = table_template_values(mapping, services)
    if template:
        no_fields = inserts.assign(payload=[{}] * len(inserts))
        _write_extension(services, extension, no_fields, created, {}, extension.api, template=template)


def page_taking_ids(mapping: IntegrationTableMapping) -> BcEndpoint | None:
    """Our API page over the mapping's table, which takes a client-chosen SystemId on insert (the
    standard pages refuse one: docs/bc-custom-api.md); None when the table has no page of ours."""
    for endpoint in (mapping.bc_endpoint, mapping.bc_extension_endpoint):
        if endpoint is not None and endpoint.api is BcApi.CUSTOM:
            return endpoint
    return None


def _create_with_chosen_ids(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    inserts: pd.DataFrame,
    job_id: str,
    api_of: dict[str, BcApi],
    id_page: BcEndpoint,
) -> list[dict[str, Any]]:
    """Creates with a SystemId bcsync chooses and journals first, as for Dataverse: one POST on our
    page (id and that page's fields), then the standard page's fields as an update.

    A retry reuses the journalled id: if BC has it, the earlier create committed and only its answer
    was lost, so it is not sent again, and the standard page's fields are (re)written, as its answer
    would have led to. A record whose second write is refused is deleted again and fails alone with
    that reason, so no half-written record is left for the other direction to copy.
    """
    primary = mapping.bc_endpoint
    proposed = pd.DataFrame({"source_id": inserts[SOURCE_ID], "destination_id": new_guids(len(inserts))})
    journal = services.store.record_pending(mapping.name, sync_pass.value, proposed, job_id=job_id)
    chosen = dict(zip(journal["source_id"], journal["destination_id"], strict=True))
    # Ids an earlier try journalled (and perhaps created): the journal kept them, not ours.
    earlier = [
        chosen[s]
        for s, new in zip(proposed["source_id"], proposed["destination_id"], strict=True)
        if chosen[s] != new
    ]
    exists = {
        str(i).lower()
        for frame in read_by_ids(services, mapping, Side.BC, earlier, apply_filter=False)
        for i in frame[mapping.bc_key]
    }
    found = inserts[SOURCE_ID].map(chosen).str.lower().isin(exists)
    todo = inserts[~found]
    part = 0 if id_page is primary else 1
    bodies = [
        {"id": chosen[s], **_split(p, api_of, primary.api)[part]}
        for s, p in zip(todo[SOURCE_ID], todo["payload"], strict=True)
    ]
    outcomes = services.bc.write_many(id_page.entity_set, bodies, "create", api=id_page.api.value)
    created = results_of(todo, outcomes, [chosen[s] for s in todo[SOURCE_ID]])
    created += [
        {SOURCE_ID: s, DESTINATION_ID: chosen[s].lower(), "ok": True, "error": None}
        for s in inserts.loc[found, SOURCE_ID]
    ]
    log.info(
        "%s: %d create(s) with chosen ids; %d found in BC from an earlier try",
        mapping.name,
        len(todo),
        found.sum(),
    )
    if id_page is not primary:
        refused = _write_extension(services, primary, inserts, created, api_of, primary.api, part=0)
        _undo_creates(mapping, sync_pass, services, id_page, [chosen[s] for s in refused], refused)
    return created


def _undo_creates(
    mapping: IntegrationTableMapping,
    sync_pass: SyncPass,
    services: Services,
    page: BcEndpoint,
    bc_ids: list[str],
    source_ids: list[str],
) -> None:
    """Delete records whose create went through but whose standard fields BC refused; their journal
    entries close, so the next run creates them afresh (a delete that fails leaves the entry open:
    the next run finds the record by its id)."""
    if not bc_ids:
        return
    results = services.bc.write_many(
        page.entity_set, [{"id": i} for i in bc_ids], "delete", api=page.api.value, if_match="*"
    )
    gone = [source_ids[r.index] for r in results if r.ok]
    for result in results:
        if not result.ok:
            log.warning(
                "%s: could not delete half-created %s: %s", mapping.name, bc_ids[result.index], result.error
            )
    services.store.abandon(mapping.name, sync_pass.value, gone)


def _reconcile_pending_bc(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, services: Services, inserts: pd.DataFrame
) -> dict[str, str]:
    """Creates journalled by an earlier try that were never recorded: did BC commit them?

    For tables without a page of ours (`page_taking_ids`), whose standard pages take no client-chosen
    ids (`id` is read-only there), a committed create is recognised by content: an uncoupled record
    of this table, modified since the journal entry, whose fields on the standard page equal the
    planned payload. Content need not be unique: pending creates with
    the same content are paired one to one, in journal order, with the records that have it, so two
    look-alike accounts whose creates both committed find one customer each. Found ones are coupled
    instead of created again; the others are abandoned and sent again.
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
    taken: set[str] = set()
    for source_id in pending["source_id"]:
        wanted = {
            k: ("" if v is None else v) for k, v in (payloads.get(source_id) or {}).items() if k in primary
        }
        for row in recent:
            bc_id = str(row[mapping.bc_key]).lower()
            if wanted and bc_id not in taken and all(row.get(k) == v for k, v in wanted.items()):
                found[source_id] = bc_id
                taken.add(bc_id)
                break
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
