"""Registry → one DAG per job: extract (per side) → couple → transform → load (per destination) → record.

Kept light: parsing imports only the registry and the Task SDK; the task bodies import the pipeline
when they run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Asset, DeltaDataIntervalTimetable, Param, TriggerRule, task

from bcsync.registry import load_registry
from bcsync.registry.model import IntegrationTableMapping, SyncDirection

# Jobs whose DAGs are built; the others follow as their table-specific rules are implemented.
IMPLEMENTED_JOBS = ("SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT")
BC_POOL = "bc_api"
DATAVERSE_POOL = "dataverse_api"
START = datetime(2026, 1, 1, tzinfo=UTC)
GUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def job_asset(mapping: IntegrationTableMapping) -> Asset:
    """Emitted when a job's run finishes, with its counters: schedule other DAGs on it."""
    return Asset(name=f"{mapping.dag_id}_job", uri=f"bcsync://jobs/{mapping.dag_id}")


def params_for(mapping: IntegrationTableMapping) -> dict[str, Param]:
    params = {
        "full_sync": Param(
            False,
            type="boolean",
            title="Run full synchronization",
            description="Read every record, couple by matching, create the rest (BC's Full Synchronization).",
        ),
        "record_ids": Param(
            [],
            type="array",
            items={"type": "string", "pattern": GUID_PATTERN},
            title="Synchronize now",
            description="Ids (BC SystemId or Dataverse id) of records to synchronize now, whatever changed.",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Plan and log what would be inserted, modified, coupled or fail; write nothing.",
        ),
    }
    if mapping.direction is SyncDirection.BIDIRECTIONAL:
        params["direction"] = Param(
            "both",
            type="string",
            enum=[
                "both",
                SyncDirection.TO_INTEGRATION_TABLE.value,
                SyncDirection.FROM_INTEGRATION_TABLE.value,
            ],
            title="Direction",
            description="Both (BC → Sales, then Sales → BC), or only one of them.",
        )
    return params


def schedule_for(mapping: IntegrationTableMapping) -> DeltaDataIntervalTimetable | str | None:
    """BC's job queue recurrence; data intervals make backfills mean "re-sync what changed in them"."""
    if mapping.schedule is None:
        return None
    if mapping.schedule.cron:
        return mapping.schedule.cron
    return DeltaDataIntervalTimetable(mapping.schedule.every or timedelta(minutes=30))


def build_dag(mapping: IntegrationTableMapping) -> DAG:
    name = mapping.name
    with DAG(
        dag_id=mapping.dag_id,
        description=mapping.description
        or f"{name}: {mapping.bc_table} {mapping.direction.arrow} {mapping.crm_entity}",
        schedule=schedule_for(mapping),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        params=params_for(mapping),
        tags=["bcsync", name],
        default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
        doc_md=_doc(mapping),
    ) as dag:

        @task(task_id="extract_bc", pool=BC_POOL)
        def extract_bc() -> dict:
            from bcsync.pipeline import tasks

            return tasks.extract(name, "bc")

        @task(task_id="extract_crm", pool=DATAVERSE_POOL)
        def extract_crm() -> dict:
            from bcsync.pipeline import tasks

            return tasks.extract(name, "crm")

        @task(task_id="couple")
        def couple(bc: dict, crm: dict) -> dict:
            from bcsync.pipeline import tasks

            return tasks.couple(name, bc, crm)

        @task(task_id="transform")
        def transform(bc: dict, crm: dict, coupled: dict) -> dict:
            from bcsync.pipeline import tasks

            return tasks.transform(name, bc, crm, coupled)

        @task(task_id="record_job", trigger_rule=TriggerRule.ALL_DONE, outlets=[job_asset(mapping)])
        def record_job(bc: dict | None, crm: dict | None) -> dict:
            from bcsync.pipeline import tasks

            return tasks.record_job(name, bc, crm)

        bc, crm = extract_bc(), extract_crm()
        coupled = couple(bc, crm)
        planned = transform(bc, crm, coupled)
        loads = []
        if mapping.direction.to_crm:
            loads.append(_load_task("load_crm", name, "crm", DATAVERSE_POOL)(planned))
        if mapping.direction.to_bc:
            loads.append(_load_task("load_bc", name, "bc", BC_POOL)(planned))

        @task(task_id="job_status", trigger_rule=TriggerRule.ALL_DONE)
        def job_status() -> None:
            from bcsync.pipeline import tasks

            tasks.job_status(name)

        done = record_job(bc, crm)
        for load in loads:
            load >> done
        done >> job_status()
    return dag


def _load_task(task_id: str, name: str, destination: str, pool: str):
    @task(task_id=task_id, pool=pool)
    def load(transformed: dict) -> dict:
        from bcsync.pipeline import tasks

        return tasks.load(name, destination, transformed)

    return load


FULL_SYNC_DAG_ID = "bcsync_full_sync"


def build_full_sync_dag(
    jobs: list[IntegrationTableMapping], waves: list[list[IntegrationTableMapping]]
) -> DAG:
    """BC's "CRM Full Synch. Review": every job's full synchronization, in dependency waves.

    A job starts once every job it depends on has finished — successfully or with failed records,
    as BC's review page starts a line when its dependencies are "Finished".
    """
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    implemented = {m.name for m in jobs}
    with DAG(
        dag_id=FULL_SYNC_DAG_ID,
        description="Initial load: each job's full synchronization, in dependency order",
        schedule=None,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["bcsync"],
        doc_md=__doc__,
    ) as dag:
        tasks = {}
        for wave in waves:
            for mapping in wave:
                if mapping.name not in implemented:
                    continue
                tasks[mapping.name] = TriggerDagRunOperator(
                    task_id=f"full_sync_{mapping.dag_id.removeprefix('bcsync_')}",
                    trigger_dag_id=mapping.dag_id,
                    conf={"full_sync": True},
                    wait_for_completion=True,
                    poke_interval=5,
                    trigger_rule=TriggerRule.ALL_DONE,
                )
                for dependency in mapping.dependencies:
                    if dependency in tasks:
                        tasks[dependency] >> tasks[mapping.name]
    return dag


def build_dags() -> dict[str, DAG]:
    registry = load_registry()
    jobs = [m for m in registry.jobs if m.name in IMPLEMENTED_JOBS and m.dag_id]
    dags = {m.dag_id: build_dag(m) for m in jobs}
    dags[FULL_SYNC_DAG_ID] = build_full_sync_dag(jobs, registry.dependency_waves())
    return dags


def _doc(mapping: IntegrationTableMapping) -> str:
    fields = "\n".join(
        f"| {f.bc_caption or ''} | {f.crm_field or ''} | {f.direction.arrow} |" for f in mapping.fields
    )
    return (
        f"### {mapping.name}\n\n{mapping.description}\n\n"
        f"BC table **{mapping.bc_table}** {mapping.direction.arrow} Dataverse **{mapping.crm_entity}**; "
        f"only coupled records: {mapping.only_coupled}; "
        f"depends on: {', '.join(mapping.dependencies) or '—'}.\n\n"
        f"| BC field | Dataverse attribute | direction |\n|---|---|---|\n{fields}\n"
    )
