"""docker-compose.yaml's staging Connection and URL work against a real S3 API server (moto's server
mode, the image the compose file runs): the init step's bucket creation, then frames staged by one
task and read by another, as on two Celery workers."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import pandas as pd

from bcsync.deployment import main as deployment
from bcsync.pipeline.staging import read_frame, run_folder, staging_root, write_frame
from bcsync_dev.celery_stack import STAGING_CONN_ID
from bcsync_dev.sandbox_connections import connection_env_var
from tests.dags.compose_file import environment_of, load_compose


def compose_staging_settings(endpoint: str) -> dict[str, str]:
    """The worker's staging URL and Connection from docker-compose.yaml, its endpoint moved to `endpoint`
    (in the compose network it is http://s3:5000)."""
    env = environment_of(load_compose()["services"]["airflow-worker"])
    variable = connection_env_var(STAGING_CONN_ID)
    uri = env[variable]
    parts = urlsplit(uri)
    extra = json.loads(parse_qs(parts.query)["__extra__"][0])
    assert urlsplit(extra["endpoint_url"]).hostname == "s3"
    extra["endpoint_url"] = endpoint
    moved = f"{parts.scheme}://{parts.netloc}{parts.path}?__extra__={quote(json.dumps(extra), safe='')}"
    return {"BCSYNC_STAGING_URL": env["BCSYNC_STAGING_URL"], variable: moved}


def test_frames_staged_through_the_compose_connection_round_trip(moto_s3, monkeypatch, capsys):
    for name, value in compose_staging_settings(moto_s3).items():
        monkeypatch.setenv(name, value)
    assert deployment(["staging-bucket"]) == 0
    assert any(line.endswith(": created") for line in capsys.readouterr().out.splitlines())

    folder = run_folder("bcsync_customer", "manual__2026-12-06", "CUSTOMER", root=staging_root())
    frame = pd.DataFrame({"id": ["a", "b"], "name": ["Adatum", "Trey"]})
    staged = write_frame(folder, "extract_bc", frame)
    assert staged.url.startswith(f"s3://{STAGING_CONN_ID}@")
    assert read_frame(staged).to_dict("records") == frame.to_dict("records")
