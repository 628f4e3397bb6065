"""BC's manual record actions (couple, uncouple, create new, synchronize now, ...) as Airflow DAG runs.

`action_request` turns what an admin asked for into the DAG id and conf to trigger; the web pages, the
CLI and scripts all go through it, so a bad request gets the same plain message everywhere. Light on
purpose (the web app and the CLI import it): the registry is loaded only to check the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bcsync.registry.model import IntegrationTableMapping

BC = "bc"
CRM = "crm"
SIDES = (BC, CRM)
TO_CRM = "ToIntegrationTable"
FROM_CRM = "FromIntegrationTable"
SIDE_NAMES = {BC: "Business Central", CRM: "Sales"}
ACTION_TASK_ID = "run_action"  # the one task of an action's DAG; its XCom is the run's JobResult


class ActionError(ValueError):
    """A request an action cannot run: the message is for the admin who made it."""


@dataclass(frozen=True)
class ActionSpec:
    name: str
    dag_id: str  # "" for synchronize_now: the job's own DAG
    title: str
    description: str
    needs_counterpart: bool
    sides: tuple[str, ...]  # which side's records the action takes


def _spec(name: str, title: str, description: str, *, counterpart: bool = False, sides=SIDES) -> ActionSpec:
    return ActionSpec(name, f"bcsync_{name}", title, description, counterpart, tuple(sides))


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "couple",
            "Couple",
            "Couple a record to a record of the other side, optionally synchronizing them right after.",
            counterpart=True,
        ),
        _spec(
            "match_couple",
            "Match-Based Coupling",
            "Couple the selected BC records to the Sales records whose match fields have the same values.",
            sides=(BC,),
        ),
        _spec(
            "uncouple",
            "Uncouple",
            "Remove the couplings of the selected records (and reset their Sales company where the table "
            "has one).",
        ),
        _spec("delete_coupling", "Delete Coupling", "Delete the couplings of the selected records."),
        _spec(
            "delete_coupled_record",
            "Delete Coupled Record",
            "Delete the record of one side that the selected records are coupled to, and the coupling.",
        ),
        _spec(
            "create_new",
            "Create New",
            "Create the selected uncoupled records on the other side and couple them.",
        ),
        _spec(
            "restore",
            "Restore",
            "Restore skipped records for synchronization; a deleted counterpart is created again.",
        ),
        ActionSpec(
            "synchronize_now",
            "",
            "Synchronize Now",
            "Synchronize the selected records now, whatever changed; a skipped record is restored first.",
            False,
            SIDES,
        ),
    )
}

# What each action takes besides "job" and "records": option → check(value, mapping) returning the value to
# send. A missing option is left out of the conf; the action applies its default.
Check = Callable[[str, Any, "IntegrationTableMapping"], Any]


def _boolean(option: str, value: Any, mapping: IntegrationTableMapping) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise ActionError(f"{option} must be true or false, not {value!r}.")


def _side(option: str, value: Any, mapping: IntegrationTableMapping) -> str:
    side = str(value).strip().lower()
    if side not in SIDES:
        raise ActionError(f"{option} must be 'bc' (Business Central) or 'crm' (Sales), not {value!r}.")
    return side


def _direction(option: str, value: Any, mapping: IntegrationTableMapping) -> str:
    direction = str(value).strip()
    if direction not in (TO_CRM, FROM_CRM):
        raise ActionError(
            f"{option} must be {TO_CRM} (Business Central overwrites Sales) or {FROM_CRM} "
            f"(Sales overwrites Business Central), not {value!r}."
        )
    allowed = mapping.direction.to_crm if direction == TO_CRM else mapping.direction.to_bc
    if not allowed:
        raise ActionError(f"{mapping.name} synchronizes only {mapping.direction.value}, not {direction}.")
    return direction


def _sync_direction(option: str, value: Any, mapping: IntegrationTableMapping) -> str:
    return "both" if str(value).strip() in ("", "both") else _direction(option, value, mapping)


def _counterpart(option: str, value: Any, mapping: IntegrationTableMapping) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ActionError("Couple needs the record of the other side to couple to (counterpart).")
    return value.strip()


def _match_fields(option: str, value: Any, mapping: IntegrationTableMapping) -> list[str]:
    names = [value] if isinstance(value, str) else list(value or [])
    if not names:
        raise ActionError("match_fields needs at least one field; leave it out to use the mapping's.")
    known = {
        key.casefold(): f.bc_field
        for f in mapping.fields
        if f.bc_field and f.crm_field and not f.is_constant
        for key in (f.bc_field, f.bc_caption or f.bc_field)
    }
    unknown = [str(n) for n in names if str(n).strip().casefold() not in known]
    if unknown:
        choices = sorted({f.bc_caption or "" for f in mapping.fields if f.bc_field and f.crm_field})
        raise ActionError(
            f"{mapping.name} has no field mapping for {', '.join(unknown)}; "
            f"fields it can match on: {', '.join(choices)}."
        )
    return [known[str(n).strip().casefold()] for n in names]


OPTIONS: dict[str, dict[str, Check]] = {
    "couple": {
        "counterpart": _counterpart,
        "side": _side,
        "synchronize_after": _boolean,
        "direction": _direction,
    },
    "match_couple": {
        "match_fields": _match_fields,
        "case_sensitive": _boolean,
        "create_new_if_no_match": _boolean,
        "synchronize_after": _boolean,
    },
    "uncouple": {},
    "delete_coupling": {},
    "delete_coupled_record": {"side": _side},
    "create_new": {"side": _side},
    "restore": {},
    "synchronize_now": {"direction": _sync_direction},
}
REQUIRED: dict[str, tuple[str, ...]] = {"couple": ("counterpart",), "delete_coupled_record": ("side",)}


def action_request(action: str, job: str, records: list[str], **options: Any) -> tuple[str, dict]:
    """(dag_id, conf) to trigger for `action` on `records` of `job`; ActionError on a bad request.

    Records are as admins know them (a BC number/code, a Sales name or number, or a record id); the
    action resolves them when it runs. Synchronize now runs in the job's own DAG, so its records go in
    that DAG's `record_ids` Param (the DAG is the job).
    """
    spec = ACTIONS.get(action)
    if spec is None:
        raise ActionError(f"Unknown action {action!r}; actions: {', '.join(ACTIONS)}.")
    mapping = job_mapping(job)
    selected = _records(records)
    if action == "couple" and len(selected) != 1:
        raise ActionError(f"Couple takes one record at a time, not {len(selected)}.")
    accepted = OPTIONS[action]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) or "no options"
        raise ActionError(f"{spec.title} does not take {', '.join(unknown)}; it takes {takes}.")
    missing = [o for o in REQUIRED.get(action, ()) if options.get(o) in (None, "")]
    if missing:
        raise ActionError(f"{spec.title} needs {', '.join(missing)}.")
    checked = {o: accepted[o](o, v, mapping) for o, v in options.items() if v is not None}
    _check_sides(spec, mapping, checked)
    if action == "synchronize_now":
        return mapping.dag_id or "", {"record_ids": selected, **checked}
    return spec.dag_id, {"job": mapping.name, "records": selected, **checked}


def job_mapping(job: str) -> IntegrationTableMapping:
    """The mapping of an enabled job, by name or alias; ActionError naming the jobs there are."""
    from bcsync.registry import load_registry

    registry = load_registry()
    jobs = [m for m in registry.jobs if m.enabled and m.dag_id]
    wanted = str(job or "").strip().casefold()
    for mapping in jobs:
        if wanted in (n.casefold() for n in (mapping.name, *mapping.aliases)):
            return mapping
    raise ActionError(f"There is no job {job!r}; jobs: {', '.join(m.name for m in jobs)}.")


def _records(records: Any) -> list[str]:
    if isinstance(records, str):
        records = [records]
    selected = [str(r).strip() for r in (records or []) if str(r).strip()]
    if not selected:
        raise ActionError(
            "Select at least one record (a BC number or code, a Sales name or number, or an id)."
        )
    return list(dict.fromkeys(selected))


def _check_sides(spec: ActionSpec, mapping: IntegrationTableMapping, options: dict[str, Any]) -> None:
    """Creating needs the mapping to write that way (BC's Create New in Sales / from Sales)."""
    if spec.name == "match_couple" and options.get("create_new_if_no_match"):
        side = BC  # the unmatched BC records are created in Sales
    elif spec.name == "create_new":
        side = options.get("side", BC)
    else:
        return
    writes = mapping.direction.to_crm if side == BC else mapping.direction.to_bc
    if not writes:
        source, destination = SIDE_NAMES[side], SIDE_NAMES[CRM if side == BC else BC]
        raise ActionError(
            f"{mapping.name} does not write to {destination}, so its {source} records cannot be "
            f"created there."
        )
