"""A small client for Airflow 3.3's REST API v2, as an operator (or the UI) uses it.

Auth: the Simple auth manager's JWT. With `[core] simple_auth_manager_all_admins` the token comes from
`GET /auth/token` without credentials; otherwise pass `username`/`password` for `POST /auth/token`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

FINISHED_RUN_STATES = ("success", "failed")


class AirflowApiError(RuntimeError):
    """A non-2xx answer; the message carries method, path, status and body."""


class RunTimeout(AssertionError):
    """The run did not reach one of the expected states in time (an AssertionError: a test failure)."""


@dataclass(frozen=True)
class RunTiming:
    """Where a DAG run's wall time went, from the run's and its task instances' timestamps."""

    wall: float  # run start_date → end_date
    busy: float  # union of the task instances' [start_date, end_date]: time some task was running
    idle: float  # wall - busy: scheduling, queueing, task process start-up between tasks
    queue_waits: float  # Σ (start_date - queued_when): executor pick-up + supervisor start per task
    task_seconds: dict[str, float]  # per task: end_date - start_date

    def describe(self) -> str:
        slowest = ", ".join(
            f"{t} {s:.1f}s" for t, s in sorted(self.task_seconds.items(), key=lambda i: -i[1])
        )
        return (
            f"wall {self.wall:.1f}s = tasks running {self.busy:.1f}s + scheduling/queue gaps "
            f"{self.idle:.1f}s (Σ queued→start {self.queue_waits:.1f}s); per task: {slowest}"
        )


class AirflowApi:
    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._credentials = (username, password) if username else None
        self.session = requests.Session()
        self.session.trust_env = False  # only 127.0.0.1: no proxies from the environment

    # -- transport -------------------------------------------------------------------------------------

    def authenticate(self) -> None:
        if self._credentials:
            username, password = self._credentials
            response = self.session.post(
                f"{self.base_url}/auth/token",
                json={"username": username, "password": password},
                timeout=self.timeout,
            )
        else:
            response = self.session.get(f"{self.base_url}/auth/token", timeout=self.timeout)
        _check(response)
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`path` relative to /api/v2; authenticates on first use and once more on a 401 (expired JWT)."""
        url = f"{self.base_url}/api/v2/{path.lstrip('/')}"
        kwargs.setdefault("timeout", self.timeout)
        if "Authorization" not in self.session.headers:
            self.authenticate()
        response = self.session.request(method, url, **kwargs)
        if response.status_code == 401:
            self.authenticate()
            response = self.session.request(method, url, **kwargs)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        _check(response)
        return response.json()

    def close(self) -> None:
        self.session.close()

    # -- DAGs and runs ---------------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return self.json("GET", "version")

    def get_dag(self, dag_id: str) -> dict[str, Any] | None:
        """The DAG, or None while the DAG processor has not serialized it yet."""
        response = self.request("GET", f"dags/{dag_id}")
        if response.status_code == 404:
            return None
        _check(response)
        return response.json()

    def unpause(self, dag_id: str) -> dict[str, Any]:
        return self.json("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, *, note: str | None = None) -> str:
        """A manual run now (no logical date); returns its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if note is not None:
            body["note"] = note
        return self.json("POST", f"dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def get_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.json("GET", f"dags/{dag_id}/dagRuns/{run_id}")

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> dict[str, Any]:
        """What "Mark run as success/failed" in the UI does (the API server fires the run listeners)."""
        return self.json("PATCH", f"dags/{dag_id}/dagRuns/{run_id}", json={"state": state})

    def run_note(self, dag_id: str, run_id: str) -> str | None:
        return self.get_run(dag_id, run_id).get("note")

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        *,
        states: tuple[str, ...] = FINISHED_RUN_STATES,
        timeout: float = 120,
        poll: float = 0.5,
    ) -> dict[str, Any]:
        """Poll until the run is in one of `states`; RunTimeout names the task states when it is not."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get_run(dag_id, run_id)
            if run["state"] in states:
                return run
            if time.monotonic() > deadline:
                tasks = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
                raise RunTimeout(
                    f"{dag_id} {run_id} still {run['state']} after {timeout:g}s (wanted {states}); "
                    f"tasks: {tasks}"
                )
            time.sleep(poll)

    def runs(
        self, dag_id: str, *, run_type: str | None = None, order_by: str = "run_after"
    ) -> list[dict[str, Any]]:
        """The DAG's runs, oldest first (the grid's order)."""
        params: dict[str, Any] = {"limit": 100, "order_by": order_by}
        if run_type:
            params["run_type"] = run_type
        return self.json("GET", f"dags/{dag_id}/dagRuns", params=params)["dag_runs"]

    def latest_run(self, dag_id: str) -> dict[str, Any]:
        return self.json("GET", f"dags/{dag_id}/dagRuns", params={"limit": 1, "order_by": "-run_after"})[
            "dag_runs"
        ][0]

    def pause(self, dag_id: str) -> dict[str, Any]:
        return self.json("PATCH", f"dags/{dag_id}", json={"is_paused": True})

    def asset_events(self, **filters: Any) -> list[dict[str, Any]]:
        """Asset events, oldest first; filters as the endpoint takes them (source_dag_id=...)."""
        params = {"limit": 100, "order_by": "timestamp", **filters}
        return self.json("GET", "assets/events", params=params)["asset_events"]

    def upstream_asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The asset events that started an asset-triggered run."""
        return self.json("GET", f"dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents")["asset_events"]

    # -- backfills -------------------------------------------------------------------------------------

    def create_backfill(self, dag_id: str, from_date: str, to_date: str, **options: Any) -> dict[str, Any]:
        """What the UI's "Run Backfill" does: one run per data interval in [from_date, to_date]."""
        return self.json(
            "POST",
            "backfills",
            json={"dag_id": dag_id, "from_date": from_date, "to_date": to_date, **options},
        )

    def wait_for_backfill(
        self, backfill_id: int, *, timeout: float = 300, poll: float = 1.0
    ) -> dict[str, Any]:
        """Poll until the scheduler marks the backfill completed (all its runs finished)."""
        deadline = time.monotonic() + timeout
        while True:
            backfill = self.json("GET", f"backfills/{backfill_id}")
            if backfill["completed_at"]:
                return backfill
            if time.monotonic() > deadline:
                raise RunTimeout(
                    f"backfill {backfill_id} of {backfill['dag_id']} not completed after {timeout:g}s"
                )
            time.sleep(poll)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.json("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})[
            "task_instances"
        ]

    def task_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, *, map_index: int = -1
    ) -> str:
        """The whole log of one try as text, one line per structured entry.

        The JSON answer is `{"content": [entries], "continuation_token": str | null}`; a token means
        more may follow (a running task, or a handler that reads in chunks), so follow it until none
        is returned or a page brings nothing new.
        """
        path = f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        lines: list[str] = []
        token: str | None = None
        for _ in range(100):
            params: dict[str, Any] = {"map_index": map_index, "full_content": True}
            if token:
                params["token"] = token
            page = self.json("GET", path, params=params, headers={"Accept": "application/json"})
            content = page.get("content") or []
            lines.extend(_log_line(entry) for entry in content)
            token = page.get("continuation_token")
            if not token or not content:
                break
        return "\n".join(lines)

    def run_timing(self, dag_id: str, run_id: str) -> RunTiming:
        run = self.get_run(dag_id, run_id)
        tis = [
            ti for ti in self.task_instances(dag_id, run_id) if ti.get("start_date") and ti.get("end_date")
        ]
        spans = sorted((_dt(ti["start_date"]), _dt(ti["end_date"])) for ti in tis)
        busy = 0.0
        current_start, current_end = None, None
        for start, end in spans:
            if current_end is None or start > current_end:
                if current_end is not None:
                    busy += (current_end - current_start).total_seconds()
                current_start, current_end = start, end
            else:
                current_end = max(current_end, end)
        if current_end is not None:
            busy += (current_end - current_start).total_seconds()
        wall = (_dt(run["end_date"]) - _dt(run["start_date"])).total_seconds()
        waits = sum(
            (_dt(ti["start_date"]) - _dt(ti["queued_when"])).total_seconds()
            for ti in tis
            if ti.get("queued_when")
        )
        per_task = {
            ti["task_id"]: (_dt(ti["end_date"]) - _dt(ti["start_date"])).total_seconds() for ti in tis
        }
        return RunTiming(wall=wall, busy=busy, idle=wall - busy, queue_waits=waits, task_seconds=per_task)


def _check(response: requests.Response) -> None:
    if not response.ok:
        raise AirflowApiError(
            f"{response.request.method} {response.url} → {response.status_code}: {response.text[:500]}"
        )


def _log_line(entry: Any) -> str:
    """A structured log entry (`{"event": ..., "timestamp": ..., "level": ..., **fields}`) as one line."""
    if not isinstance(entry, dict):
        return str(entry)
    fields = " ".join(
        f"{key}={value}"
        for key, value in entry.items()
        if key not in ("event", "timestamp", "level", "logger")
    )
    parts = [str(entry.get("timestamp") or ""), str(entry.get("level") or ""), str(entry.get("event") or "")]
    return " ".join(p for p in [*parts, fields] if p)


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
