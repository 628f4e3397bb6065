"""Starts `python -m sandbox serve` as a subprocess on free ports and waits until it answers.

Used by the test fixtures, `make demo` and the benchmarks; `RunningSandbox` knows every URL and
identity a client needs, and fetches tokens through the real token endpoint.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests

from sandbox.settings import SandboxSettings
from sandbox.tls import ensure_certificates

INCLUDE_DIR = Path(__file__).resolve().parent.parent
Service = Literal["entra", "dataverse", "bc"]


class SandboxStartError(RuntimeError):
    """The sandbox subprocess exited or did not answer in time; the message ends with its log tail."""


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports the OS reports free right now (held open together so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]


@dataclass
class RunningSandbox:
    settings: SandboxSettings
    process: subprocess.Popen[bytes]
    log_file: Path
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        self._session.trust_env = False  # a REQUESTS_CA_BUNDLE in the environment would override verify
        self._session.verify = str(self.ca_file)

    # -- identities and URLs ---------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def db_url(self) -> str:
        return self.settings.db_url

    @property
    def ca_file(self) -> Path:
        return self.settings.ca_file

    @property
    def entra_url(self) -> str:
        return self.settings.entra_url

    @property
    def dataverse_url(self) -> str:
        return self.settings.dataverse_url

    @property
    def bc_url(self) -> str:
        return self.settings.bc_url

    @property
    def tenant_id(self) -> str:
        return self.settings.tenant_id

    @property
    def client_id(self) -> str:
        return self.settings.client_id

    @property
    def client_secret(self) -> str:
        return self.settings.client_secret

    @property
    def bc_environment(self) -> str:
        return self.settings.bc_environment

    @property
    def company_id(self) -> str:
        return self.settings.company_id

    @property
    def token_url(self) -> str:
        return self.settings.token_url

    @property
    def dataverse_scope(self) -> str:
        return f"{self.settings.dataverse_resource}/.default"

    @property
    def bc_scope(self) -> str:
        return f"{self.settings.bc_resource}/.default"

    @property
    def dataverse_api(self) -> str:
        return f"{self.dataverse_url}/api/data/v9.2"

    @property
    def bc_api(self) -> str:
        return f"{self.bc_url}/v2.0/{self.tenant_id}/{self.bc_environment}/api/v2.0"

    @property
    def bc_company_url(self) -> str:
        return f"{self.bc_api}/companies({self.company_id})"

    # -- calls -----------------------------------------------------------------------------------------

    def token(self, scope: str) -> str:
        """An access token for `scope` from the token endpoint, reused until 5 minutes before expiry."""
        cached = self._tokens.get(scope)
        if cached and cached[1] > time.time():
            return cached[0]
        response = self._session.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": scope,
            },
            timeout=30,
        )
        if response.status_code != 200:
            raise RuntimeError(f"token request for {scope} failed: {response.status_code} {response.text}")
        body = response.json()
        self._tokens[scope] = (body["access_token"], time.time() + body["expires_in"] - 300)
        return body["access_token"]

    def service_url(self, service: Service) -> str:
        return {"entra": self.entra_url, "dataverse": self.dataverse_url, "bc": self.bc_url}[service]

    def admin(self, service: Service, method: str, path: str, json: Any = None) -> Any:
        """Call an admin route (`path` relative to `/_sandbox/`, e.g. "stats") and return its JSON."""
        relative = path.removeprefix("/").removeprefix("_sandbox/")
        url = f"{self.service_url(service)}/_sandbox/{relative}"
        response = self._session.request(method, url, json=json, timeout=30)
        if not response.ok:
            raise RuntimeError(f"{method} {url} failed: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> dict[str, Any]:
        """`POST /_sandbox/reset`: the start seed again, protection, faults and stats as at start.

        Cached tokens stay valid (the signing key and identities do not change)."""
        return self.admin("dataverse", "POST", "reset")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL if the server has not exited within `timeout` seconds."""
        self._session.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def start_sandbox(
    data_dir: Path,
    *,
    env: dict[str, str] | None = None,
    seed_customers: int = 20,
    timeout: float = 60,
) -> RunningSandbox:
    """Start a sandbox on free ports with its data in `data_dir`; returns once all three answer."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    entra_port, dataverse_port, bc_port = free_ports(3)
    variables = {
        "SANDBOX_DATA_DIR": str(data_dir),
        "SANDBOX_ENTRA_PORT": str(entra_port),
        "SANDBOX_DATAVERSE_PORT": str(dataverse_port),
        "SANDBOX_BC_PORT": str(bc_port),
        "SANDBOX_SEED_CUSTOMERS": str(seed_customers),
        **(env or {}),
    }
    # SANDBOX_* variables of the calling shell must not leak in (a developer's SANDBOX_DB_URL, say).
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("SANDBOX_")}
    child_env = {**inherited, **variables}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(INCLUDE_DIR), os.environ.get("PYTHONPATH", "")) if p
    )
    settings = SandboxSettings.from_env(variables)
    ensure_certificates(settings.data_dir, settings.host)  # made here, so waiting can trust the CA at once
    log_file = data_dir / "sandbox.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve"],
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=INCLUDE_DIR.parent,
        )
    running = RunningSandbox(settings=settings, process=process, log_file=log_file)
    try:
        _wait_until_healthy(running, timeout)
    except BaseException:
        running.stop()
        raise
    return running


@contextlib.contextmanager
def running_sandbox(
    data_dir: Path,
    *,
    env: dict[str, str] | None = None,
    seed_customers: int = 20,
    timeout: float = 60,
) -> Iterator[RunningSandbox]:
    sandbox = start_sandbox(data_dir, env=env, seed_customers=seed_customers, timeout=timeout)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def _wait_until_healthy(sandbox: RunningSandbox, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending: list[Service] = ["entra", "dataverse", "bc"]
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    with session:
        while pending:
            if sandbox.process.poll() is not None:
                raise SandboxStartError(
                    f"the sandbox exited with code {sandbox.process.returncode}\n{_tail(sandbox.log_file)}"
                )
            if time.monotonic() > deadline:
                raise SandboxStartError(
                    f"the sandbox did not answer within {timeout:g}s ({', '.join(pending)} not healthy)\n"
                    f"{_tail(sandbox.log_file)}"
                )
            service = pending[0]
            try:
                if session.get(f"{sandbox.service_url(service)}/_sandbox/health", timeout=2).ok:
                    pending.pop(0)
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.1)


def _tail(log_file: Path, lines: int = 40) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "--- sandbox log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])
