"""The Celery stack on one machine: what `local_airflow(..., executor="celery")` adds to the local Airflow.

The shared services of a distributed bcsync (`bcsync_dev.celery_stack` names them) started locally:
Redis as Celery's broker (the local server, a database number of its own, flushed first), Celery's
result backend and the coupling store on PostgreSQL (throw-away databases), and the staging bucket on a
real S3 API server (moto's server mode, a subprocess on a free port). Then the Celery workers, each as
a machine of its own would run it: its own working directory, Celery node name, task log folder, log
server port and host name (what Airflow records as the task instance's `hostname`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import redis
import requests

from bcsync_dev.celery_stack import STAGING_CONN_ID, celery_environment
from bcsync_dev.local_postgres import DEFAULT_SERVER_URL, throwaway_database, with_installed_driver
from bcsync_dev.local_runs import ROOT

REDIS_URL = os.environ.get("BCSYNC_CELERY_REDIS_URL", "redis://127.0.0.1:6379")
# This stack's own database number on the shared Redis server (flushed at every start).
REDIS_DB = int(os.environ.get("BCSYNC_CELERY_REDIS_DB", "11"))
STAGING_BUCKET = "bcsync-staging"
WORKER_COUNT = 2
WORKER_CONCURRENCY = 2  # task processes per worker: two workers on a 2-core laptop
# S3's dummy credentials: moto accepts any, the Connection needs some.
S3_KEY = "bcsync-local"
S3_SECRET = "bcsync-local-secret"
S3_REGION = "us-east-1"
HOSTNAME_ENV = "BCSYNC_WORKER_HOSTNAME"


def worker_hostname() -> str:
    """Airflow's `hostname_callable` in the workers: each worker's own name, as on separate machines
    (on one machine they would all report the same fully qualified domain name)."""
    return os.environ.get(HOSTNAME_ENV) or os.uname().nodename


@dataclass(frozen=True)
class CeleryServices:
    """The services a Celery stack shares, and the environment that points every component at them."""

    env: dict[str, str]
    s3_endpoint: str
    bucket: str
    store_db: str
    broker_url: str

    def s3_client(self):  # boto3's client (no stubs installed for its type)
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        )

    def staged_keys(self) -> list[str]:
        """Every object key in the staging bucket."""
        paginator = self.s3_client().get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def staging_connection(endpoint_url: str) -> str:
    """AIRFLOW_CONN_BCSYNC_STAGING: an aws Connection to the S3 API server, in Airflow's JSON form."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": S3_KEY,
            "password": S3_SECRET,
            "extra": {"endpoint_url": endpoint_url, "region_name": S3_REGION},
        }
    )


@contextlib.contextmanager
def celery_services(
    work_dir: Path, metadata_db: str, postgres_server: str = DEFAULT_SERVER_URL, s3_port: int | None = None
) -> Iterator[CeleryServices]:
    """Broker, result backend, coupling store and staging bucket for a Celery stack; stopped or dropped
    on exit. `metadata_db` is Airflow's PostgreSQL metadata database (Celery keeps its results there)."""
    from sandbox.launcher import free_ports

    broker_url = f"{REDIS_URL}/{REDIS_DB}"
    redis.Redis.from_url(broker_url).flushdb()  # nothing left from an earlier stack's queues
    port = s3_port or free_ports(1)[0]
    endpoint = f"http://127.0.0.1:{port}"
    log_dir = work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (
        _moto_server(port, log_dir / "s3.log"),
        throwaway_database(postgres_server, "i11_celery_store") as store_db,
    ):
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        ).create_bucket(Bucket=STAGING_BUCKET)
        result_backend = "db+" + with_installed_driver(metadata_db).render_as_string(hide_password=False)
        store_url = with_installed_driver(store_db).render_as_string(hide_password=False)
        env = {
            **celery_environment(
                broker_url=broker_url,
                result_backend=result_backend,
                staging_url=f"s3://{STAGING_CONN_ID}@{STAGING_BUCKET}/staging",
            ),
            f"AIRFLOW_CONN_{STAGING_CONN_ID.upper()}": staging_connection(endpoint),
            "AIRFLOW_CONN_BCSYNC_STORE": store_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            "PYTHONPATH": os.pathsep.join(map(str, (ROOT / "plugins", ROOT / "include"))),
        }
        yield CeleryServices(env, endpoint, STAGING_BUCKET, store_url, broker_url)


@contextlib.contextmanager
def _moto_server(port: int, log_file: Path, timeout: float = 60.0) -> Iterator[None]:
    """moto's S3 API server in a subprocess (own process group), answering before this returns."""
    import subprocess

    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto's S3 server exited ({process.returncode}); see {log_file}")
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto's S3 server not answering within {timeout:g}s") from None
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class WorkerSpec:
    """One Celery worker as its own machine would run it."""

    name: str
    work_dir: Path
    log_server_port: int

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    def args(self) -> list[str]:
        return ["celery", "worker", "--celery-hostname", f"{self.name}@%h"]

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {
            **base,
            HOSTNAME_ENV: self.name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.log_dir),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_server_port),
        }


def worker_specs(work_dir: Path, count: int = WORKER_COUNT) -> list[WorkerSpec]:
    """`count` workers, each with a directory of its own under `work_dir`/workers."""
    from sandbox.launcher import free_ports

    ports = free_ports(count)
    specs = []
    for number, port in enumerate(ports, start=1):
        spec = WorkerSpec(f"bcsync-worker-{number}", work_dir / "workers" / f"worker-{number}", port)
        spec.log_dir.mkdir(parents=True, exist_ok=True)
        specs.append(spec)
    return specs

