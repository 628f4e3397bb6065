"""Registry → one DAG per enabled job, each its mapping's `IntegrationSyncTaskGroup`, and the initial
load (`bcsync_full_sync`).

Kept light: parsing imports only the registry, the operators and the Task SDK; the operators import
the pipeline when their tasks run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pendulum
from airflow.sdk import (
    DAG,
    Asset,
    AssetAll,
    AssetOrTimeSchedule,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeltaDataIntervalTimetable,
    TriggerRule,
    conf,
    get_parsing_context,
)

from bcsync.operators.params import partition_size_param, sync_params
from bcsync.operators.task_group import IntegrationSyncTaskGroup, retries_of
from bcsync.registry import load_registry
from bcsync.registry.model import IntegrationTableMapping, Schedule

if TYPE_CHECKING:
    from airflow.sdk.bases.timetable import BaseTimetable
    from airflow.sdk.definitions.asset import BaseAsset

START = datetime(2026, 1, 1, tzinfo=UTC)


def job_asset(mapping: IntegrationTableMapping) -> Asset:
    """Updated when a job's run finishes, with its counters as the event's extra: schedule on it."""
    return Asset(name=f"{mapping.dag_id}_job", uri=f"bcsync://jobs/{mapping.dag_id}")


def schedule_for(
    mapping: IntegrationTableMapping, jobs: Mapping[str, IntegrationTableMapping] | None = None
) -> BaseTimetable | BaseAsset | None:
    """BC's job queue recurrence, and the jobs whose finished runs also start this one.

    `jobs` are the jobs that have a DAG, by name. The timer keeps data intervals, so backfills mean
    "re-sync what changed in them". `after` adds the named jobs' completion assets: one asset, or
    `AssetAll` for several (a run once each has finished since the last run). Without a timer the DAG is
    scheduled on the assets alone. When a named job has no DAG yet, `after` is left out: the DAG keeps
    its timer, and its doc says why (`_doc`).
    """
    schedule = mapping.schedule
    if schedule is None:
        return None
    timer = _timer(schedule)
    upstream = _after_jobs(schedule, jobs)
    if upstream is None:
        return timer
    condition = job_asset(upstream[0]) if len(upstream) == 1 else AssetAll(*map(job_asset, upstream))
    if timer is None:
        return condition
    return AssetOrTimeSchedule(timetable=timer, assets=condition)


def _timer(schedule: Schedule) -> BaseTimetable | None:
    if schedule.cron:
        return _cron_timetable(schedule.cron)
    if schedule.every:
        return DeltaDataIntervalTimetable(schedule.every)
    return None


def _cron_timetable(expression: str) -> BaseTimetable:
    """What `DAG(schedule=<cron string>)` makes of the expression in the DAG's timezone (START's)."""
    timezone = pendulum.instance(START).timezone
    if conf.getboolean("scheduler", "create_cron_data_intervals"):
        return CronDataIntervalTimetable(expression, timezone)
    return CronTriggerTimetable(expression, timezone=timezone)


def _after_jobs(
    schedule: Schedule, jobs: Mapping[str, IntegrationTableMapping] | None
) -> list[IntegrationTableMapping] | None:
    """The `after` jobs, or None when there are none or one of them has no DAG to wait for."""
    if not schedule.after or jobs is None or any(name not in jobs for name in schedule.after):
        return None
    return [jobs[name] for name in schedule.after]


def build_dag(
    mapping: IntegrationTableMapping,
    jobs: Mapping[str, IntegrationTableMapping] | None = None,
    linked_children: Sequence[IntegrationTableMapping] = (),
) -> DAG:
    """The job's DAG: its mapping's `IntegrationSyncTaskGroup` on the default connections.

    `jobs` (the jobs that have a DAG, by name) resolve its schedule's `after`. `linked_children` are
    child mappings that are linked mappings (`linked_to`): their records come from other mappings'
    couplings, so each runs as a task group of its own in this DAG (`<CHILD>.extract_bc`, …), with
    this job's retries; its counters are in the job log as its own job rows.
    """
    with DAG(
        dag_id=mapping.dag_id,
        description=mapping.description
        or f"{mapping.name}: {mapping.bc_table} {mapping.direction.arrow} {mapping.crm_entity}",
        schedule=schedule_for(mapping, jobs),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        params=sync_params(mapping),
        tags=["bcsync", mapping.name],
        doc_md=_doc(mapping, jobs),
    ) as dag:
        # Airflow keys allow letters, digits, `-` and `_`: "CUSTOMER STATISTICS" → CUSTOMER_STATISTICS.
        IntegrationSyncTaskGroup(
            mapping,
            group_id=mapping.name.replace(" ", "_"),
            prefix_group_id=False,
            job_asset=job_asset(mapping),
        )
        for child in linked_children:
            IntegrationSyncTaskGroup(
                child, group_id=child.name.replace(" ", "_"), default_args=retries_of(mapping)
            )
    return dag


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
        params={"partition_size": partition_size_param()},
        render_template_as_native_obj=True,  # the jobs' conf gets the partition size as a number
    ) as dag:
        tasks = {}
        for wave in waves:
            for mapping in wave:
                if mapping.name not in implemented:
                    continue
                tasks[mapping.name] = TriggerDagRunOperator(
                    task_id=f"full_sync_{mapping.dag_id.removeprefix('bcsync_')}",
                    trigger_dag_id=mapping.dag_id,
                    conf={"full_sync": True, "partition_size": "{{ params.partition_size }}"},
                    wait_for_completion=True,
                    # The triggerer waits for the job's run: no worker slot is held meanwhile.
                    deferrable=True,
                    poke_interval=5,
                    trigger_rule=TriggerRule.ALL_DONE,
                )
                for dependency in mapping.dependencies:
                    if dependency in tasks:
                        tasks[dependency] >> tasks[mapping.name]
    return dag


def build_dags(only: str | None = None) -> dict[str, DAG]:
    """Every job's DAG and `bcsync_full_sync`; or only the DAG `only` names (any other id: all).

    `only` defaults to the DAG a task process parses the file for (Airflow's parsing context): a task
    of `bcsync_customer` needs that DAG alone, not eleven others and the initial load's operators.
    The DAG processor parses without a context and gets them all.
    """
    if only is None:
        only = get_parsing_context().dag_id
    registry = load_registry()
    jobs = list(registry.enabled_jobs)
    by_name = {m.name: m for m in jobs}
    children = [m for m in registry.mappings if m.enabled and m.is_child and m.linked_to]
    if only == FULL_SYNC_DAG_ID:
        return {FULL_SYNC_DAG_ID: build_full_sync_dag(jobs, registry.dependency_waves())}
    wanted = [m for m in jobs if m.dag_id == only] or jobs
    dags = {m.dag_id: build_dag(m, by_name, [c for c in children if c.parent == m.name]) for m in wanted}
    if len(wanted) == len(jobs):
        dags[FULL_SYNC_DAG_ID] = build_full_sync_dag(jobs, registry.dependency_waves())
    # Broken mappings' DAGs are stand-ins in dags/bcsync_mapping_errors.py (bcsync.broken_mapping).
    return dags


def _doc(mapping: IntegrationTableMapping, jobs: Mapping[str, IntegrationTableMapping] | None = None) -> str:
    fields = "\n".join(
        f"| {f.bc_caption or ''} | {f.crm_field or ''} | {f.direction.arrow} |" for f in mapping.fields
    )
    return (
        f"### {mapping.name}\n\n{mapping.description}\n\n"
        f"BC table **{mapping.bc_table}** {mapping.direction.arrow} Dataverse **{mapping.crm_entity}**; "
        f"only coupled records: {mapping.only_coupled}; "
        f"depends on: {', '.join(mapping.dependencies) or '—'}.\n\n"
        f"{_schedule_doc(mapping, jobs)}\n\n"
        f"| BC field | Dataverse attribute | direction |\n|---|---|---|\n{fields}\n"
    )


def _schedule_doc(
    mapping: IntegrationTableMapping, jobs: Mapping[str, IntegrationTableMapping] | None
) -> str:
    """The schedule as `schedule_for` builds it, in words."""
    schedule = mapping.schedule
    if schedule is None:
        return "**Schedule:** none; the DAG runs when triggered."
    if schedule.every:
        timer = f"every {_minutes(schedule.every)}"
    elif schedule.cron:
        timer = f"on cron `{schedule.cron}`"
    else:
        timer = None
    if not schedule.after:
        return f"**Schedule:** {timer}."
    names = " and ".join(f"**{name}**" for name in schedule.after)
    upstream = _after_jobs(schedule, jobs)
    if upstream is None:
        missing = [name for name in schedule.after if jobs is None or name not in jobs]
        fallback = f"runs {timer} alone" if timer else "runs only when triggered"
        return (
            f"**Schedule:** {timer + ', and ' if timer else ''}after {names}. "
            f"{' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no DAG yet, "
            f"so `after` is not in effect and this DAG {fallback}."
        )
    assets = ", ".join(f"`{job_asset(job).uri}`" for job in upstream)
    if len(upstream) == 1:
        finished = f"{names} finishes (asset {assets})"
    else:
        finished = f"{names} have each finished since the last run (assets {assets})"
    if timer:
        return f"**Schedule:** {timer}, and whenever {finished}."
    return (
        f"**Schedule:** whenever {finished}; no timer. These runs have no data interval of their own, "
        "so this DAG cannot be backfilled."
    )


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"
