"""Bearer-token checks in front of Dataverse and BC: 401 with WWW-Authenticate, or the principal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse

from sandbox.auth import BC_AUTH_CODES, DATAVERSE_AUTH_CODES, AuthFailure
from sandbox.context import ServiceContext
from sandbox.launcher import free_ports
from sandbox.server import Sandbox, build_sandbox, serving_in_background
from sandbox.settings import SandboxSettings

SERVED: list[str] = []  # paths the service apps actually ran


def _error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _whoami_app(context: ServiceContext) -> FastAPI:
    app = FastAPI()

    @app.get("/whoami")
    def whoami(request: Request) -> dict[str, str]:
        SERVED.append(request.url.path)
        principal = request.state.principal
        return {"app_id": principal.app_id, "object_id": principal.object_id, "audience": principal.audience}

    return app


WHOAMI_SERVICE = SimpleNamespace(SCHEMAS=(), create_app=_whoami_app, error_response=_error_response)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    entra_port, dataverse_port, bc_port = free_ports(3)
    settings = SandboxSettings(
        data_dir=tmp_path_factory.mktemp("auth"),
        entra_port=entra_port,
        dataverse_port=dataverse_port,
        bc_port=bc_port,
        seed_customers=0,
    )
    with serving_in_background(build_sandbox(settings, services=(WHOAMI_SERVICE, WHOAMI_SERVICE))) as sandbox:
        yield sandbox


@pytest.fixture
def settings(local: Sandbox) -> SandboxSettings:
    SERVED.clear()
    return local.settings


@pytest.fixture
def https(new_session: Any, settings: SandboxSettings) -> requests.Session:
    return new_session(settings.ca_file)


SERVICES = {
    # service: (base URL attribute, resource attribute, codes)
    "dataverse": ("dataverse_url", "dataverse_resource", DATAVERSE_AUTH_CODES),
    "bc": ("bc_url", "bc_resource", BC_AUTH_CODES),
}


def _token(
    https: requests.Session, settings: SandboxSettings, resource: str, lifetime: int | None = None
) -> str:
    order: dict[str, Any] = {"scope": f"{resource}/.default", "lifetime": lifetime}
    return https.post(f"{settings.entra_url}/_sandbox/token", json=order).json()["access_token"]


def _assert_challenge(
    response: requests.Response, settings: SandboxSettings, resource: str, code: str
) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization_uri="{settings.entra_url}/{settings.tenant_id}/oauth2/authorize", '
        f'resource_id="{resource}"'
    )
    assert response.json()["error"]["code"] == code
    assert SERVED == []


@pytest.mark.parametrize("service", SERVICES)
def test_token_from_the_token_endpoint_is_accepted_and_names_the_app(https, settings, service):
    url_attribute, resource_attribute, _ = SERVICES[service]
    resource = getattr(settings, resource_attribute)
    token = https.post(
        settings.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "scope": f"{resource}/.default",
        },
    ).json()["access_token"]

    response = https.get(
        f"{getattr(settings, url_attribute)}/whoami", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
    assert response.json() == {
        "app_id": settings.client_id,
        "object_id": settings.service_principal_id,
        "audience": resource,
    }


def test_dataverse_accepts_a_token_for_its_localhost_spelling(https, settings):
    token = _token(https, settings, f"https://localhost:{settings.dataverse_port}")

    response = https.get(f"{settings.dataverse_url}/whoami", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer "])
def test_request_without_a_bearer_token_gets_401_with_a_challenge(https, settings, service, authorization):
    url_attribute, resource_attribute, codes = SERVICES[service]
    headers = {"Authorization": authorization} if authorization else {}

    response = https.get(f"{getattr(settings, url_attribute)}/whoami", headers=headers)

    _assert_challenge(response, settings, getattr(settings, resource_attribute), codes[AuthFailure.MISSING])


@pytest.mark.parametrize("service", SERVICES)
def test_expired_token_gets_401(https, settings, service):
    url_attribute, resource_attribute, codes = SERVICES[service]
    resource = getattr(settings, resource_attribute)
    token = _token(https, settings, resource, lifetime=-60)

    response = https.get(
        f"{getattr(settings, url_attribute)}/whoami", headers={"Authorization": f"Bearer {token}"}
    )

    _assert_challenge(response, settings, resource, codes[AuthFailure.EXPIRED])


@pytest.mark.parametrize(("service", "other"), [("dataverse", "bc"), ("bc", "dataverse")])
def test_token_for_the_other_service_gets_401(https, settings, service, other):
    url_attribute, resource_attribute, codes = SERVICES[service]
    token = _token(https, settings, getattr(settings, SERVICES[other][1]))

    response = https.get(
        f"{getattr(settings, url_attribute)}/whoami", headers={"Authorization": f"Bearer {token}"}
    )

    _assert_challenge(
        response, settings, getattr(settings, resource_attribute), codes[AuthFailure.WRONG_AUDIENCE]
    )


@pytest.mark.parametrize("forgery", ["tampered", "foreign_key", "garbage"])
def test_forged_token_gets_401(https, settings, forgery):
    genuine = _token(https, settings, settings.bc_resource)
    if forgery == "tampered":
        header, payload, signature = genuine.split(".")
        token = f"{header}.{payload}.{signature[::-1]}"
    elif forgery == "foreign_key":
        claims = jwt.decode(genuine, options={"verify_signature": False})
        token = jwt.encode(
            claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256"
        )
    else:
        token = "not-a-jwt"

    response = https.get(f"{settings.bc_url}/whoami", headers={"Authorization": f"Bearer {token}"})

    _assert_challenge(response, settings, settings.bc_resource, BC_AUTH_CODES[AuthFailure.INVALID])


def test_token_signed_with_hs256_is_rejected(https, settings):
    claims = jwt.decode(_token(https, settings, settings.bc_resource), options={"verify_signature": False})
    token = jwt.encode(claims | {"exp": int(time.time()) + 600}, "shared-secret-" * 3, algorithm="HS256")

    response = https.get(f"{settings.bc_url}/whoami", headers={"Authorization": f"Bearer {token}"})

    _assert_challenge(response, settings, settings.bc_resource, BC_AUTH_CODES[AuthFailure.INVALID])


@pytest.mark.parametrize("url_attribute", ["entra_url", "dataverse_url", "bc_url"])
def test_admin_routes_need_no_token(https, settings, url_attribute):
    response = https.get(f"{getattr(settings, url_attribute)}/_sandbox/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_rejected_requests_show_in_the_service_stats(https, settings):
    https.post(f"{settings.bc_url}/_sandbox/stats/reset")
    https.get(f"{settings.bc_url}/whoami")

    stats = https.get(f"{settings.bc_url}/_sandbox/stats").json()

    assert stats["by_route"] == {"GET /whoami": {"401": 1}}


# -- the real Dataverse and BC apps behind `python -m sandbox serve` ------------------------------------


def test_dataverse_whoami_answers_only_a_dataverse_token(sandbox, new_session, dataverse_token, bc_token):
    https = new_session(sandbox.ca_file)
    url = f"{sandbox.dataverse_api}/WhoAmI"

    accepted = https.get(url, headers={"Authorization": f"Bearer {dataverse_token}"})
    missing = https.get(url)
    wrong_audience = https.get(url, headers={"Authorization": f"Bearer {bc_token}"})

    assert accepted.status_code == 200 and accepted.json()["UserId"]
    assert (missing.status_code, wrong_audience.status_code) == (401, 401)
    assert missing.json()["error"]["code"] == DATAVERSE_AUTH_CODES[AuthFailure.MISSING]
    assert f'resource_id="{sandbox.dataverse_url}"' in missing.headers["WWW-Authenticate"]


def test_bc_rejects_an_expired_token_in_its_own_error_shape(sandbox, new_session, bc_token):
    https = new_session(sandbox.ca_file)
    expired = sandbox.admin("entra", "POST", "token", {"scope": sandbox.bc_scope, "lifetime": -60})[
        "access_token"
    ]

    accepted = https.get(f"{sandbox.bc_api}/companies", headers={"Authorization": f"Bearer {bc_token}"})
    rejected = https.get(f"{sandbox.bc_api}/companies", headers={"Authorization": f"Bearer {expired}"})

    assert accepted.status_code == 200
    assert sandbox.company_id in [company["id"] for company in accepted.json()["value"]]
    assert rejected.status_code == 401
    assert rejected.json()["error"]["code"] == "Authentication_InvalidCredentials"
    assert 'resource_id="https://api.businesscentral.dynamics.com"' in rejected.headers["WWW-Authenticate"]
