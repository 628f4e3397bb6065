"""Staging on S3 (what Celery workers on several machines share): moto's S3 server, reached through the
`bcsync_staging` Connection and Airflow's ObjectStoragePath, as the Celery stack configures it."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pandas as pd
import pytest

from bcsync.pipeline.staging import read_frame, read_rows, run_folder, staging_root, write_frame, write_frames
from bcsync_dev.celery_airflow import S3_KEY, S3_REGION, S3_SECRET, STAGING_BUCKET, staging_connection
from bcsync_dev.celery_stack import STAGING_CONN_ID


@pytest.fixture(scope="module")
def s3_staging(moto_s3: str) -> Iterator[tuple[str, object]]:
    """The staging URL of a bucket on a moto S3 server, and a boto3 client of that server. One server
    for the module: Airflow keeps a Connection's filesystem for the life of the process."""
    client = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
    )
    client.create_bucket(Bucket=STAGING_BUCKET)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"AIRFLOW_CONN_{STAGING_CONN_ID.upper()}", staging_connection(moto_s3))
        yield f"s3://{STAGING_CONN_ID}@{STAGING_BUCKET}/staging", client


def _keys(client, prefix: str) -> list[str]:
    listed = client.list_objects_v2(Bucket=STAGING_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_parts_are_objects_in_the_bucket_and_read_back_whole_or_by_range(s3_staging):
    url, client = s3_staging
    folder = run_folder("bcsync_customer", "manual__2026-12-06T10:00:00+00:00", "CUSTOMER", staging_root(url))
    ids = [f"id{i}" for i in range(10)]
    plan = pd.DataFrame({"source_id": ids, "payload": [{"n": i} for i in range(10)]})

    staged = write_frames(folder, "plan_ToIntegrationTable", [plan.iloc[0:4], plan.iloc[4:8], plan.iloc[8:]])

    assert staged.url.startswith(f"s3://{STAGING_CONN_ID}@{STAGING_BUCKET}/staging/bcsync_customer/")
    prefix = "staging/bcsync_customer/manual__2026-12-06T10_00_00_00_00/CUSTOMER/plan_ToIntegrationTable/"
    assert _keys(client, prefix) == [f"{prefix}part-0000{i}.parquet" for i in range(3)]
    assert read_frame(staged)["source_id"].tolist() == plan["source_id"].tolist()
    assert read_rows(staged, 3, 9)["source_id"].tolist() == ids[3:9]
    assert read_rows(staged, 4, 8)["payload"].tolist() == [{"n": i} for i in range(4, 8)]


def test_a_retry_replaces_the_earlier_tries_parts_and_finds_what_exists(s3_staging):
    url, client = s3_staging
    folder = run_folder("bcsync_customer", "retry", "CUSTOMER", staging_root(url))
    write_frames(folder, "extract_bc", [pd.DataFrame({"id": ["a"]}), pd.DataFrame({"id": ["b"]})])

    again = write_frames(folder, "extract_bc", [pd.DataFrame({"id": ["c"]})])

    assert read_frame(again)["id"].tolist() == ["c"]
    assert len(_keys(client, "staging/bcsync_customer/retry/CUSTOMER/extract_bc/")) == 1
    outcome = pd.DataFrame({"source_id": ["a"], "action": ["insert"]})
    write_frame(folder, "results_ToIntegrationTable_try1", outcome)
    assert (folder / "results_ToIntegrationTable_try1").exists()
    assert not (folder / "results_ToIntegrationTable_try2").exists()
