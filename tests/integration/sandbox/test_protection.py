"""Service protection limits and injected faults, observed over HTTPS the way a client sees them."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from fastapi import FastAPI
from starlette.responses import JSONResponse, Response

from sandbox.context import ServiceContext
from sandbox.launcher import free_ports
from sandbox.protection import default_config, merge_config
from sandbox.server import Sandbox, build_sandbox, serving_in_background
from sandbox.settings import SandboxSettings, SettingsError

WRITES: list[dict[str, Any]] = []  # what the service apps committed


class InFlight:
    """Concurrency the service app itself observed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.current += 1
            self.peak = max(self.peak, self.current)

    def __exit__(self, *_: object) -> None:
        with self.lock:
            self.current -= 1


IN_FLIGHT = InFlight()


def _error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _recording_app(context: ServiceContext) -> FastAPI:
    app = FastAPI()

    @app.post("/items", status_code=201)
    def create_item(item: dict[str, Any]) -> dict[str, Any]:
        WRITES.append(item)
        return {"id": len(WRITES), **item}

    @app.post("/notes")
    def create_note(note: dict[str, Any]) -> Response:
        WRITES.append(note)
        return Response(status_code=204)

    @app.get("/slow")
    async def slow(ms: int) -> dict[str, int]:
        with IN_FLIGHT:
            await asyncio.sleep(ms / 1000)
        return {"slept_ms": ms}

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"pong": True}

    return app


RECORDING_SERVICE = SimpleNamespace(SCHEMAS=(), create_app=_recording_app, error_response=_error_response)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    entra_port, dataverse_port, bc_port = free_ports(3)
    settings = SandboxSettings(
        data_dir=tmp_path_factory.mktemp("protection"),
        entra_port=entra_port,
        dataverse_port=dataverse_port,
        bc_port=bc_port,
        seed_customers=0,
    )
    with serving_in_background(
        build_sandbox(settings, services=(RECORDING_SERVICE, RECORDING_SERVICE))
    ) as sandbox:
        yield sandbox


class Client:
    """One service of the local sandbox, called with a valid token; a fresh connection per call."""

    def __init__(self, settings: SandboxSettings, service: str, token: str) -> None:
        self.base = settings.dataverse_url if service == "dataverse" else settings.bc_url
        self.ca_file = str(settings.ca_file)
        self.token = token

    def call(self, method: str, path: str, **options: Any) -> requests.Response:
        with requests.Session() as session:
            session.trust_env = False
            headers = {} if path.startswith("/_sandbox/") else {"Authorization": f"Bearer {self.token}"}
            return session.request(method, self.base + path, headers=headers, verify=self.ca_file, **options)

    def protect(self, **sections: dict[str, Any]) -> dict[str, Any]:
        response = self.call("PUT", "/_sandbox/protection", json=sections)
        assert response.status_code == 200, response.text
        return response.json()

    def concurrently(self, paths: list[str], stagger: float = 0.0) -> list[requests.Response]:
        def send(index_path: tuple[int, str]) -> requests.Response:
            time.sleep(index_path[0] * stagger)
            return self.call("GET", index_path[1], timeout=30)

        with ThreadPoolExecutor(len(paths)) as pool:
            return list(pool.map(send, enumerate(paths)))


def _client(local: Sandbox, service: str) -> Client:
    settings = local.settings
    resource = settings.dataverse_resource if service == "dataverse" else settings.bc_resource
    with requests.Session() as session:
        session.trust_env = False
        token = session.post(
            f"{settings.entra_url}/_sandbox/token",
            json={"scope": f"{resource}/.default"},
            verify=str(settings.ca_file),
        ).json()["access_token"]
    client = Client(settings, service, token)
    client.call("PUT", "/_sandbox/protection", json=default_config(service).model_dump())  # type: ignore[arg-type]
    client.call("DELETE", "/_sandbox/faults")
    client.call("POST", "/_sandbox/stats/reset")
    return client


@pytest.fixture
def dataverse(local: Sandbox) -> Client:
    WRITES.clear()
    IN_FLIGHT.peak = 0
    return _client(local, "dataverse")


@pytest.fixture
def bc(local: Sandbox) -> Client:
    WRITES.clear()
    IN_FLIGHT.peak = 0
    return _client(local, "bc")


# -- configuration ----------------------------------------------------------------------------------------


def test_protection_is_off_by_default_with_the_real_budgets(dataverse, bc):
    dataverse_limits = dataverse.call("GET", "/_sandbox/protection").json()["limits"]
    bc_limits = bc.call("GET", "/_sandbox/protection").json()["limits"]

    assert dataverse_limits["enabled"] is bc_limits["enabled"] is False
    assert (dataverse_limits["max_requests"], dataverse_limits["window_seconds"]) == (6000, 300)
    assert (dataverse_limits["max_execution_seconds"], dataverse_limits["max_concurrent"]) == (1200, 52)
    assert (bc_limits["max_requests"], bc_limits["max_concurrent"], bc_limits["max_queued"]) == (6000, 5, 95)


def test_environment_json_overrides_the_defaults_of_one_service():
    settings = SandboxSettings.from_env(
        {"SANDBOX_BC_PROTECTION": '{"limits": {"enabled": true, "max_requests": 9}}'}
    )

    config = merge_config(default_config("bc"), settings.bc_protection)

    assert (config.limits.enabled, config.limits.max_requests, config.limits.max_concurrent) == (True, 9, 5)


def test_malformed_protection_environment_variable_is_a_clear_error():
    with pytest.raises(SettingsError, match="SANDBOX_DATAVERSE_PROTECTION"):
        SandboxSettings.from_env({"SANDBOX_DATAVERSE_PROTECTION": "{not json"})


def test_invalid_protection_settings_are_rejected_and_leave_the_old_ones(dataverse):
    response = dataverse.call("PUT", "/_sandbox/protection", json={"limits": {"max_requests": 0}})

    assert response.status_code == 400
    assert "max_requests" in response.json()["error"]["message"]
    assert dataverse.call("GET", "/_sandbox/protection").json()["limits"]["max_requests"] == 6000


# -- Dataverse limits -------------------------------------------------------------------------------------


def test_dataverse_answers_429_with_retry_after_once_the_request_budget_is_spent(dataverse):
    dataverse.protect(limits={"enabled": True, "max_requests": 3})

    responses = [dataverse.call("GET", "/ping") for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] for r in responses[:3]] == [
        "2",
        "1",
        "0",
    ]
    throttled = responses[3]
    assert 1 <= int(throttled.headers["Retry-After"]) <= 300
    assert throttled.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 3 over time window of 300 seconds.",
    }


def test_dataverse_answers_429_once_the_execution_time_budget_is_spent(dataverse):
    dataverse.protect(limits={"enabled": True, "max_execution_seconds": 0.1})

    first = dataverse.call("GET", "/slow?ms=150")
    second = dataverse.call("GET", "/ping")

    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "0x80072321"
    assert "Combined execution time of incoming requests exceeded limit of 100 milliseconds" in second.text
    assert int(second.headers["Retry-After"]) >= 1


def test_dataverse_rejects_requests_over_the_concurrency_limit_at_once(dataverse):
    dataverse.protect(limits={"enabled": True, "max_concurrent": 2})

    responses = dataverse.concurrently(["/slow?ms=600"] * 2 + ["/ping"], stagger=0.1)

    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json()["error"] == {
        "code": "0x80072326",
        "message": "Number of concurrent requests exceeded the limit of 2.",
    }
    assert "Retry-After" in responses[2].headers
    assert responses[2].elapsed.total_seconds() < 0.5  # rejected, not queued behind the slow ones


# -- Business Central limits ------------------------------------------------------------------------------


def test_bc_queues_the_sixth_concurrent_request_until_one_of_five_finishes(bc):
    bc.protect(limits={"enabled": True})

    responses = bc.concurrently(["/slow?ms=400"] * 6)

    assert [r.status_code for r in responses] == [200] * 6
    assert IN_FLIGHT.peak == 5
    assert max(r.elapsed.total_seconds() for r in responses) >= 0.75  # waited for a slot, then ran
    assert bc.call("GET", "/_sandbox/stats").json()["by_route"] == {"GET /slow": {"200": 6}}


def test_bc_answers_429_when_the_queue_is_full(bc):
    bc.protect(limits={"enabled": True, "max_concurrent": 1, "max_queued": 1})

    responses = bc.concurrently(["/slow?ms=500"] * 2 + ["/ping"], stagger=0.1)

    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json()["error"]["code"] == "Application_TooManyRequests"
    assert "Retry-After" in responses[2].headers


def test_bc_answers_503_with_retry_after_when_a_request_waits_too_long_in_the_queue(bc):
    bc.protect(limits={"enabled": True, "max_concurrent": 1, "queue_timeout_seconds": 0.2})

    responses = bc.concurrently(["/slow?ms=600", "/ping"], stagger=0.1)

    assert [r.status_code for r in responses] == [200, 503]
    assert responses[1].headers["Retry-After"] == "1"


def test_bc_answers_429_with_retry_after_once_the_request_budget_is_spent(bc):
    bc.protect(limits={"enabled": True, "max_requests": 2, "window_seconds": 60})

    statuses = [bc.call("GET", "/ping") for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"]["code"] == "Application_TooManyRequests"
    assert 1 <= int(statuses[2].headers["Retry-After"]) <= 60


# -- faults -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/items", "/notes"])  # a 201 with a body, and a 204 without one
def test_drop_after_commit_commits_the_write_but_the_client_sees_a_broken_connection(dataverse, path):
    rule = {"method": "POST", "path": f"^{path}$", "fault": "drop_after_commit", "count": 1}
    assert dataverse.call("POST", "/_sandbox/faults", json={"rules": [rule]}).status_code == 200

    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        dataverse.call("POST", path, json={"name": "first"}, timeout=10)
    retried = dataverse.call("POST", path, json={"name": "second"}, timeout=10)

    assert WRITES == [{"name": "first"}, {"name": "second"}]  # the dropped write happened
    assert retried.status_code in (201, 204)
    stats = dataverse.call("GET", "/_sandbox/stats").json()
    assert stats["by_route"][f"POST {path}"] == {"dropped": 1, str(retried.status_code): 1}
    assert stats["faults_injected"] == {"scripted_drop_after_commit": 1}


def test_scripted_status_fault_hits_exactly_count_matching_requests(bc):
    rules = [
        {"method": "GET", "path": "^/ping$", "fault": "status", "status": 503, "count": 2, "retry_after": 7}
    ]
    bc.call("POST", "/_sandbox/faults", json={"rules": rules})

    responses = [bc.call("GET", "/ping") for _ in range(3)]
    other = bc.call("POST", "/items", json={"name": "untouched"})

    assert [r.status_code for r in responses] == [503, 503, 200]
    assert responses[0].headers["Retry-After"] == "7"
    assert responses[0].json()["error"]["code"] == "Internal_ServerError"
    assert other.status_code == 201
    assert bc.call("GET", "/_sandbox/faults").json() == {"rules": []}


def test_scripted_timeout_holds_the_request_past_the_client_timeout_without_running_it(bc):
    rule = {"method": "POST", "path": "/items", "fault": "timeout", "seconds": 0.5}
    bc.call("POST", "/_sandbox/faults", json={"rules": [rule]})

    with pytest.raises(requests.exceptions.ReadTimeout):
        bc.call("POST", "/items", json={"name": "never"}, timeout=0.2)

    assert WRITES == []


def test_random_faults_follow_the_seed(dataverse):
    def statuses() -> list[int]:
        dataverse.protect(faults={"error_rate": 0.5, "seed": 7, "retry_after_seconds": 2})
        return [dataverse.call("GET", "/ping").status_code for _ in range(12)]

    first, second = statuses(), statuses()

    assert first == second
    assert set(first) <= {200, 500, 503} and 200 in first and len(set(first)) > 1


def test_latency_is_added_to_every_response(bc):
    bc.protect(faults={"latency_ms": 250})

    response = bc.call("GET", "/ping")

    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.25


def test_malformed_fault_rules_are_rejected(bc):
    response = bc.call("POST", "/_sandbox/faults", json={"rules": [{"path": "(", "fault": "status"}]})

    assert response.status_code == 400
    assert "regular expression" in response.json()["error"]["message"]


# -- the real Dataverse and BC apps behind `python -m sandbox serve` ------------------------------------


def test_dropped_dataverse_create_is_committed_although_the_client_saw_a_broken_connection(
    sandbox, new_session, dataverse_token
):
    https = new_session(sandbox.ca_file, dataverse_token)
    name = f"Dropped answer {uuid.uuid4()}"
    sandbox.admin(
        "dataverse",
        "POST",
        "faults",
        {"rules": [{"method": "POST", "path": "/accounts$", "fault": "drop_after_commit"}]},
    )
    try:
        with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            https.post(f"{sandbox.dataverse_api}/accounts", json={"name": name}, timeout=30)
    finally:
        sandbox.admin("dataverse", "DELETE", "faults")

    found = https.get(
        f"{sandbox.dataverse_api}/accounts", params={"$filter": f"name eq '{name}'", "$select": "name"}
    )

    assert [account["name"] for account in found.json()["value"]] == [name]


def test_bc_throttles_a_principal_over_its_request_budget(sandbox, new_session, bc_token):
    https = new_session(sandbox.ca_file, bc_token)
    before = sandbox.admin("bc", "GET", "protection")
    sandbox.admin(
        "bc", "PUT", "protection", {"limits": {"enabled": True, "max_requests": 2, "window_seconds": 60}}
    )
    try:
        responses = [https.get(f"{sandbox.bc_api}/companies") for _ in range(3)]
    finally:
        sandbox.admin("bc", "PUT", "protection", before)

    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json()["error"]["code"] == "Application_TooManyRequests"
    assert 1 <= int(responses[2].headers["Retry-After"]) <= 60
