"""One DAG per manual record action (`bcsync_couple`, `bcsync_uncouple`, ...): the action's operator on the
records and options of the trigger's Params, then the status check that turns the run red when records
failed. Parse-light: the registry gives the job names; nothing else is read at import.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from bcsync.actions.catalog import ACTIONS, FROM_CRM, TO_CRM, ActionSpec
from bcsync.dag_factory import START
from bcsync.operators.job_status import JobStatusOperator
from bcsync.operators.params import RECORD_REFERENCE
from bcsync.operators.record_actions import ACTION_OPERATORS, JOB_PARAM
from bcsync.registry import load_registry

SIDE = {"type": "string", "enum": ["bc", "crm"]}
OPTIONAL_DIRECTION = {"type": ["null", "string"], "enum": [None, TO_CRM, FROM_CRM]}

OPTION_PARAMS: dict[str, dict[str, Param]] = {
    "couple": {
        "counterpart": Param(
            type="string",
            minLength=1,
            title="Couple to",
            description="The other side's record: a Sales name or number (or a BC number), or its id.",
        ),
        "side": Param("bc", **SIDE, title="Records are", description="bc: BC records; crm: Sales records."),
        "synchronize_after": Param(False, type="boolean", title="Synchronize after coupling"),
        "direction": Param(
            None,
            **OPTIONAL_DIRECTION,
            title="Direction",
            description="ToIntegrationTable: BC overwrites Sales; FromIntegrationTable: Sales overwrites BC.",
        ),
    },
    "match_couple": {
        "match_fields": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Match fields",
            description="BC fields to match on (caption or API name); empty: the mapping's criteria.",
        ),
        "case_sensitive": Param(None, type=["null", "boolean"], title="Case-sensitive matching"),
        "create_new_if_no_match": Param(False, type="boolean", title="Create new in case of no match"),
        "synchronize_after": Param(
            None,
            type=["null", "boolean"],
            title="Synchronize after coupling",
            description="Empty: the mapping's Synch. After Bulk Coupling.",
        ),
    },
    "delete_coupled_record": {
        "side": Param(
            type="string", enum=["bc", "crm"], title="Delete the record in", description="bc or crm"
        ),
    },
    "create_new": {
        "side": Param(
            "bc",
            **SIDE,
            title="Create from",
            description="bc: create these BC records in Sales; crm: create these Sales records in BC.",
        ),
    },
}


def build_action_dags() -> dict[str, DAG]:
    jobs = [m.name for m in load_registry().jobs if m.enabled and m.dag_id]
    return {spec.dag_id: build_action_dag(spec, jobs) for spec in ACTIONS.values() if spec.dag_id}


def build_action_dag(spec: ActionSpec, jobs: list[str]) -> DAG:
    params = {
        "job": Param(jobs[0] if jobs else "", type="string", enum=jobs or [""], title="Job"),
        "records": Param(
            type="array",
            items=RECORD_REFERENCE,
            minItems=1,
            title="Records",
            description="BC No. or Code, Sales name or number, or the id of either side.",
        ),
        **OPTION_PARAMS.get(spec.name, {}),
    }
    with DAG(
        dag_id=spec.dag_id,
        description=f"{spec.title}: {spec.description}",
        schedule=None,
        start_date=START,
        catchup=False,
        max_active_runs=4,  # runs on the same job wait for each other through the job's lease
        is_paused_upon_creation=False,  # triggered only, by an admin: a paused one would leave runs queued
        params=params,
        tags=["bcsync", "action"],
        doc_md=f"### {spec.title}\n\n{spec.description}\n\nTrigger it with the job and the records.",
    ) as dag:
        action = ACTION_OPERATORS[spec.name]()
        action >> JobStatusOperator(task_id="action_status", mapping=JOB_PARAM, job=action.output)
    return dag
