"""What the sandbox throughput benchmarks share: a sandbox in a temporary folder, a client session for
one of its services, response checks and the sample record they write.

Not a script: sandbox_throughput.py and sandbox_bc_throughput.py import it as a sibling module (Python
puts the script's folder, benchmarks/, first on sys.path).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

from sandbox.launcher import RunningSandbox, running_sandbox


@contextmanager
def temporary_sandbox(prefix: str) -> Iterator[RunningSandbox]:
    """A sandbox subprocess (10 seeded customers) whose data folder is removed afterwards."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as data_dir,
        running_sandbox(Path(data_dir), seed_customers=10) as sandbox,
    ):
        yield sandbox


def service_session(
    sandbox: RunningSandbox, scope: str, headers: Mapping[str, str] | None = None
) -> requests.Session:
    """A session that trusts the sandbox's CA and sends a token for `scope`, accepting JSON."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    session.headers.update(
        {"Authorization": f"Bearer {sandbox.token(scope)}", "Accept": "application/json", **(headers or {})}
    )
    return session


def checked(response: requests.Response, status: int) -> requests.Response:
    """`response`, if it has `status`; else a RuntimeError naming the request and the answer."""
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.url} → {response.status_code}: {response.text[:300]}"
        )
    return response


def sample_record(fields: tuple[str, str, str, str], tag: str, index: int) -> dict[str, object]:
    """Record `index` of a benchmark run: `fields` name its name, phone, city and credit limit."""
    name, phone, city, credit_limit = fields
    return {
        name: f"Benchmark {tag} {index:07d}",
        phone: f"+1 555 {index:07d}",
        city: "Seattle",
        credit_limit: index % 10000,
    }
