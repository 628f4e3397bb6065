"""What a deployment sets up once before its Airflow components start (docker-compose's airflow-init).

`python -m bcsync.deployment pools-file PATH` writes bcsync's pools (`bcsync.pools.POOL_SIZES`) as a
file for `airflow pools import`; `python -m bcsync.deployment staging-bucket` creates the bucket of the
S3 staging URL (`BCSYNC_STAGING_URL`, `s3://<conn id>@<bucket>/<prefix>`) through that Airflow
Connection when it does not exist yet, so a fresh S3-compatible store is ready for the first run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bcsync.pipeline.staging import STAGING_ENV
from bcsync.pools import POOL_SIZES


def pools_import_document() -> dict[str, dict[str, Any]]:
    """bcsync's pools in `airflow pools import`'s format; deferred tasks hold no slot (they send nothing)."""
    return {
        name: {"slots": slots, "description": f"bcsync: {name} requests in flight", "include_deferred": False}
        for name, slots in POOL_SIZES.items()
    }


@dataclass(frozen=True)
class S3Location:
    """An S3 staging URL split into the Airflow Connection that reaches the store and the bucket."""

    conn_id: str | None
    bucket: str


def s3_location(url: str) -> S3Location:
    """`s3://bcsync_staging@bcsync-staging/frames` → conn `bcsync_staging`, bucket `bcsync-staging`.

    The user part is the Connection id, as in Airflow's ObjectStoragePath URLs.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("s3", "s3a") or not parts.hostname:
        raise ValueError(f"not an S3 URL with a bucket: {url!r}")
    # hostname is lower-cased by urlsplit; bucket names are lower-case anyway, conn ids need not be.
    netloc = parts.netloc
    conn_id, _, bucket = netloc.rpartition("@")
    return S3Location(conn_id=conn_id or None, bucket=bucket)


def ensure_staging_bucket(url: str) -> bool:
    """Creates the staging URL's bucket unless it exists; whether it was created."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook  # the Amazon provider: only when used

    location = s3_location(url)
    hook = S3Hook(aws_conn_id=location.conn_id)
    if hook.check_for_bucket(location.bucket):
        return False
    hook.create_bucket(bucket_name=location.bucket)
    return True


def _pools_file(args: argparse.Namespace) -> int:
    args.path.write_text(json.dumps(pools_import_document(), indent=2) + "\n")
    print(f"{args.path}: pools {', '.join(POOL_SIZES)}")
    return 0


def _staging_bucket(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get(STAGING_ENV, "")
    if not url.startswith(("s3://", "s3a://")):
        print(f"staging is not on S3 ({url or 'local disk'}): no bucket to create")
        return 0
    location = s3_location(url)
    created = ensure_staging_bucket(url)
    print(f"staging bucket {location.bucket}: {'created' if created else 'exists'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bcsync.deployment", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pools = commands.add_parser("pools-file", help="write bcsync's pools for `airflow pools import`")
    pools.add_argument("path", type=Path)
    pools.set_defaults(run=_pools_file)
    bucket = commands.add_parser("staging-bucket", help="create the S3 staging bucket when missing")
    bucket.add_argument("--url", help=f"staging URL (default: ${STAGING_ENV})")
    bucket.set_defaults(run=_staging_bucket)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
