"""What a deployment's init step sets up: the pools file and the S3 staging bucket (moto in-process)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from bcsync.deployment import main, pools_import_document, s3_location
from bcsync.pools import POOL_SIZES

STAGING_CONN = json.dumps(
    {"conn_type": "aws", "login": "test", "password": "test", "extra": {"region_name": "us-east-1"}}
)


def test_pools_file_holds_every_bcsync_pool_with_its_size(tmp_path):
    path = tmp_path / "pools.json"
    assert main(["pools-file", str(path)]) == 0
    written = json.loads(path.read_text())
    assert {name: pool["slots"] for name, pool in written.items()} == POOL_SIZES
    assert all(pool["include_deferred"] is False for pool in written.values())
    assert written == pools_import_document()


def test_staging_url_names_the_connection_and_the_bucket():
    location = s3_location("s3://bcsync_staging@bcsync-staging/frames/x")
    assert (location.conn_id, location.bucket) == ("bcsync_staging", "bcsync-staging")
    assert s3_location("s3://bucket-only/prefix").conn_id is None


@pytest.mark.parametrize("url", ["file:///tmp/x", "s3:///no-bucket", "gs://conn@bucket"])
def test_a_url_that_is_not_an_s3_bucket_is_refused(url):
    with pytest.raises(ValueError, match="not an S3 URL"):
        s3_location(url)


def test_staging_bucket_is_created_once_then_found(monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STAGING", STAGING_CONN)
    monkeypatch.setenv("BCSYNC_STAGING_URL", "s3://bcsync_staging@bcsync-staging/frames")
    with mock_aws():
        assert main(["staging-bucket"]) == 0
        assert main(["staging-bucket"]) == 0
        buckets = boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]
    assert [b["Name"] for b in buckets] == ["bcsync-staging"]
    # Airflow's own log lines share stdout with the command's.
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("staging bucket")]
    assert said == [
        "staging bucket bcsync-staging: created",
        "staging bucket bcsync-staging: exists",
    ]


def test_staging_on_local_disk_needs_no_bucket(monkeypatch, capsys):
    monkeypatch.setenv("BCSYNC_STAGING_URL", "file:///tmp/staging")
    assert main(["staging-bucket"]) == 0
    assert "no bucket to create" in capsys.readouterr().out
