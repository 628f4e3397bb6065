"""Trigger a DAG run through Airflow's REST API v2 and wait for it, as `bcsync <action>` does.

The run is an ordinary manual run, in the DAG's history with its note, exactly as if triggered in the UI.
Auth is Airflow 3's JWT from `/auth/token`: with a username and password (POST), or without any (GET)
when the auth manager lets everyone in (`make airflow`'s Simple auth manager, all admins).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import requests

DEFAULT_URL = "http://127.0.0.1:8080"
FINISHED = ("success", "failed")
NOTE_WAIT = 10  # seconds a finished run may go without its note before it is shown without one


class AirflowRunError(RuntimeError):
    """Airflow refused the request (or could not be reached); the message says what it answered."""


@dataclass
class AirflowRuns:
    base_url: str = DEFAULT_URL
    username: str | None = None
    password: str | None = None
    timeout: float = 30

    @classmethod
    def from_environment(cls, url: str | None = None) -> AirflowRuns:
        """`url`, else $BCSYNC_AIRFLOW_URL; credentials from $BCSYNC_AIRFLOW_USERNAME / _PASSWORD."""
        return cls(
            (url or os.environ.get("BCSYNC_AIRFLOW_URL") or DEFAULT_URL).rstrip("/"),
            os.environ.get("BCSYNC_AIRFLOW_USERNAME"),
            os.environ.get("BCSYNC_AIRFLOW_PASSWORD"),
        )

    def __post_init__(self) -> None:
        self._session = requests.Session()

    def trigger(self, dag_id: str, conf: dict[str, Any], note: str | None = None) -> str:
        """A manual run of `dag_id` now with `conf`; returns its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf}
        if note:
            body["note"] = note
        return self._json("POST", f"dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._json("GET", f"dags/{dag_id}/dagRuns/{run_id}")

    def wait(self, dag_id: str, run_id: str, *, timeout: float, poll: float = 2) -> dict[str, Any]:
        """The run once it finished, with its note (the listener writes it as the run ends)."""
        deadline = time.monotonic() + timeout
        run = self.run(dag_id, run_id)
        while run["state"] not in FINISHED:
            if time.monotonic() > deadline:
                raise AirflowRunError(f"{dag_id} run {run_id} is still {run['state']} after {timeout:.0f} s")
            time.sleep(poll)
            run = self.run(dag_id, run_id)
        settle = time.monotonic() + NOTE_WAIT
        while not run.get("note") and time.monotonic() < settle:
            time.sleep(1)
            run = self.run(dag_id, run_id)
        return run

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/api/v2/{path}"
        try:
            if "Authorization" not in self._session.headers:
                self._authenticate()
            response = self._session.request(method, url, timeout=self.timeout, **kwargs)
            if response.status_code == 401:  # an expired token: once more with a new one
                self._authenticate()
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise AirflowRunError(f"cannot reach Airflow at {self.base_url}: {error}") from error
        if response.status_code >= 400:
            raise AirflowRunError(f"{method} {path}: HTTP {response.status_code}: {_detail(response)}")
        return response.json()

    def _authenticate(self) -> None:
        url = f"{self.base_url}/auth/token"
        if self.username:
            credentials = {"username": self.username, "password": self.password or ""}
            response = self._session.post(url, json=credentials, timeout=self.timeout)
        else:
            response = self._session.get(url, timeout=self.timeout)
        if response.status_code >= 400:
            raise AirflowRunError(
                f"Airflow at {self.base_url} refused a token (HTTP {response.status_code}): set "
                "BCSYNC_AIRFLOW_USERNAME and BCSYNC_AIRFLOW_PASSWORD"
            )
        self._session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return str(detail)[:500]
