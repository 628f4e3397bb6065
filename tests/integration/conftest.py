"""Fixtures shared by the integration tests of several folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="session")
def _moto_server() -> Iterator[str]:
    # One server for the session: Airflow keeps a Connection's filesystem, endpoint included, for the
    # life of the process, so a second server on another port would not be reached.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto_s3(_moto_server: str) -> str:
    """The endpoint URL of a real S3 API server (moto's server mode), holding no bucket: its state is
    reset for each test module."""
    requests.post(f"{_moto_server}/moto-api/reset", timeout=10).raise_for_status()
    return _moto_server
