"""The distributed stack: Airflow's CeleryExecutor with a Redis broker, PostgreSQL for Airflow's metadata
and the coupling store, and staging on S3-compatible object storage.

This module is what the native stack (the Celery end-to-end test, `local_airflow --executor celery`)
and docker-compose.yaml share: the Airflow components each runs and the environment that makes a
component part of the stack. tests/dags/test_compose.py checks docker-compose.yaml against it.
"""

from __future__ import annotations

# `airflow <component>` commands of the stack; the Celery worker runs on every worker machine.
CELERY_COMPONENTS: tuple[str, ...] = (
    "api-server",
    "scheduler",
    "dag-processor",
    "triggerer",
    "celery worker",
)

STAGING_CONN_ID = "bcsync_staging"  # the Airflow Connection (conn type aws) of the staging bucket


def celery_environment(*, broker_url: str, result_backend: str, staging_url: str) -> dict[str, str]:
    """The settings every component of the Celery stack has beyond a LocalExecutor stack's.

    `broker_url`: redis://host:6379/0. `result_backend`: db+postgresql://… (Celery's result backend in
    Airflow's metadata database). `staging_url`: s3://<STAGING_CONN_ID>@<bucket>/<prefix>, where the
    staged frames live so any worker can read what another wrote.
    """
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "BCSYNC_STAGING_URL": staging_url,
    }
