"""BC's record actions: Create New in Sales / from Sales (§6.2), Restore of skipped records (§3.3, with a
deleted counterpart created again as in §2.2 "Restore Records") and Delete Coupled Record."""

from __future__ import annotations

from bcsync.actions.execution import FROM_CRM, TO_CRM, ActionRun, read_records, record_name, sync_pass_of
from bcsync.engine.model import SOURCE_ID, Side
from bcsync.operations import restore_message
from bcsync.pipeline.frames import as_source
from bcsync.pipeline.references import ResolvedRecord
from bcsync.store.schema import JobType
from bcsync.wire.errors import RecordRejected


def create_new(run: ActionRun, records: list[str], *, side: str = "bc") -> None:
    """Create the selected records on the other side and couple them (BC's CreateNewRecordsInCRM /
    FromCRM): one forced run of the job's steps with "only coupled" off. A record with a valid coupling
    is left alone; a coupling whose counterpart was deleted is removed first, and the record created."""
    own = Side.BC if side == "bc" else Side.CRM
    with run.exclusive():
        found = run.resolve(records, own)
        live = _live_counterparts(run, found)
        create = []
        for record in found:
            if record.record_id in live:
                run.say(f"The synchronization has been skipped. {record_name(record)} is already coupled.")
                run.count(sync_pass_of(own), skipped=1)
            else:
                create.append(record.record_id)
        corrupt = [i for i in create if i in _coupled_ids(run, found, own)]
        if corrupt:
            run.store.uncouple(run.mapping.name, **{"bc_ids" if own is Side.BC else "crm_ids": corrupt})
            run.say(f"Removed {len(corrupt)} coupling(s) to deleted records.")
    if create:
        run.synchronize(create, sync_pass_of(own), creates=True)
        where = "Sales" if own is Side.BC else "Business Central"
        run.say(f"{len(create)} record(s) sent to be created in {where}.")


def restore(run: ActionRun, records: list[str]) -> None:
    """Restore skipped records (Skipped := false). Where the counterpart was deleted, it is created
    again through the job's steps with a new id, and coupled in place of the old one; where both records
    are gone, the coupling is removed."""
    with run.exclusive():
        found = run.resolve(records)
        couplings = run.couplings_of(found)
        skipped = couplings[couplings["skipped"].fillna(False).astype(bool)]
        known = set(couplings["bc_id"]) | set(couplings["crm_id"])
        for record in found:
            if record.record_id not in known:
                run.say(f"{record_name(record)} is not coupled: nothing to restore.")
        if skipped.empty:
            run.say("No skipped record to restore.")
            return
        bc_alive = _existing(run, Side.BC, skipped["bc_id"].tolist())
        crm_alive = _existing(run, Side.CRM, skipped["crm_id"].tolist())
        gone = skipped[~skipped["bc_id"].isin(bc_alive) & ~skipped["crm_id"].isin(crm_alive)]
        if len(gone):
            run.store.uncouple(run.mapping.name, bc_ids=gone["bc_id"].tolist())
            run.say(f"Removed {len(gone)} coupling(s) whose two records are both deleted.")
        restored = run.store.restore_skipped(run.mapping.name, bc_ids=skipped["bc_id"].tolist())
        run.say(restore_message(restored))
        recreate_in_crm = skipped[skipped["bc_id"].isin(bc_alive) & ~skipped["crm_id"].isin(crm_alive)]
        recreate_in_bc = skipped[~skipped["bc_id"].isin(bc_alive) & skipped["crm_id"].isin(crm_alive)]
    for ids, own in ((recreate_in_crm["bc_id"], Side.BC), (recreate_in_bc["crm_id"], Side.CRM)):
        if len(ids):
            run.synchronize(ids.tolist(), sync_pass_of(own), restores_deleted=True)
            where = "Sales" if own is Side.BC else "Business Central"
            run.say(f"{len(ids)} deleted counterpart(s) created again in {where}.")


def delete_coupled_record(run: ActionRun, records: list[str], *, side: str) -> None:
    """Delete the `side` record coupled to each selected record, and the coupling (BC's Skipped Records
    page: "Delete coupled record" deletes the surviving record). A record the service refuses to delete
    fails alone with the service's message, and keeps its coupling."""
    target = Side.BC if side == "bc" else Side.CRM
    direction = FROM_CRM if target is Side.BC else TO_CRM
    with run.exclusive():
        found = run.resolve(records)
        couplings = run.couplings_of(found)
        by_id = {
            **dict(zip(couplings["bc_id"], couplings.index, strict=True)),
            **dict(zip(couplings["crm_id"], couplings.index, strict=True)),
        }
        for record in found:
            if record.record_id not in by_id:
                run.fail(
                    direction,
                    record,
                    f"{record_name(record)} is not coupled, so it has no coupled record to delete.",
                )
                continue
            coupling = couplings.loc[by_id[record.record_id]]
            record_id = coupling["bc_id" if target is Side.BC else "crm_id"]
            try:
                _delete(run, target, record_id)
            except RecordRejected as refused:
                if refused.status != 404:  # already gone: only the coupling is left to remove
                    run.fail(
                        direction,
                        record,
                        str(refused),
                        **{"bc_id" if target is Side.BC else "crm_id": record_id},
                    )
                    continue
            else:
                run.count(direction, deleted=1)
            run.count(direction, uncoupled=run.store.uncouple(run.mapping.name, bc_ids=[coupling["bc_id"]]))
        run.record_job(JobType.MANUAL, dict(run.counters))


def _delete(run: ActionRun, side: Side, record_id: str) -> None:
    mapping = run.mapping
    if side is Side.CRM:
        run.services.crm.delete(mapping.crm_entity_set, record_id)
    else:
        endpoint = mapping.bc_endpoint
        run.services.bc.delete(endpoint.entity_set, record_id, etag="*", api=endpoint.api.value)


def _existing(run: ActionRun, side: Side, ids: list[str]) -> set[str]:
    frame = read_records(run, side, ids, as_source)
    return set(frame[SOURCE_ID]) if len(frame) else set()


def _coupled_ids(run: ActionRun, found: list[ResolvedRecord], own: Side) -> set[str]:
    couplings = run.couplings_of(found)
    return set(couplings["bc_id" if own is Side.BC else "crm_id"])


def _live_counterparts(run: ActionRun, found: list[ResolvedRecord]) -> set[str]:
    """The selected records whose coupled counterpart still exists (a valid coupling)."""
    couplings = run.couplings_of(found)
    if couplings.empty:
        return set()
    bc_alive = _existing(run, Side.BC, couplings["bc_id"].tolist())
    crm_alive = _existing(run, Side.CRM, couplings["crm_id"].tolist())
    valid = couplings[couplings["bc_id"].isin(bc_alive) & couplings["crm_id"].isin(crm_alive)]
    return set(valid["bc_id"]) | set(valid["crm_id"])
