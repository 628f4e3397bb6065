"""The local Entra ID token service, driven over HTTPS by plain requests, MSAL and azure-identity."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential
from fastapi import FastAPI
from starlette.responses import JSONResponse

from sandbox.context import ServiceContext
from sandbox.launcher import free_ports
from sandbox.server import Sandbox, build_sandbox, serving_in_background
from sandbox.settings import SandboxSettings


def _error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _empty_app(context: ServiceContext) -> FastAPI:
    return FastAPI()


# The token service does not depend on the service apps: empty ones keep this module self-contained.
EMPTY_SERVICE = SimpleNamespace(SCHEMAS=(), create_app=_empty_app, error_response=_error_response)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    entra_port, dataverse_port, bc_port = free_ports(3)
    settings = SandboxSettings(
        data_dir=tmp_path_factory.mktemp("entra"),
        entra_port=entra_port,
        dataverse_port=dataverse_port,
        bc_port=bc_port,
        seed_customers=0,
    )
    with serving_in_background(build_sandbox(settings, services=(EMPTY_SERVICE, EMPTY_SERVICE))) as sandbox:
        yield sandbox


@pytest.fixture
def settings(local: Sandbox) -> SandboxSettings:
    return local.settings


@pytest.fixture
def https(new_session: Any, settings: SandboxSettings) -> requests.Session:
    return new_session(settings.ca_file)


def _form(settings: SandboxSettings, **changes: str | None) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
        "scope": f"{settings.bc_resource}/.default",
    }
    form.update(changes)  # type: ignore[arg-type]
    return {key: value for key, value in form.items() if value is not None}


def _verified_claims(https: requests.Session, settings: SandboxSettings, token: str, audience: str) -> dict:
    jwks = https.get(f"{settings.entra_url}/{settings.tenant_id}/discovery/v2.0/keys").json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=settings.issuer)


def test_client_credentials_grant_returns_a_signed_bearer_token_for_the_resource(https, settings):
    before = int(time.time())
    response = https.post(settings.token_url, data=_form(settings))

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.token_lifetime == body["ext_expires_in"]
    assert "refresh_token" not in body
    claims = _verified_claims(https, settings, body["access_token"], settings.bc_resource)
    assert claims["tid"] == settings.tenant_id
    assert claims["appid"] == settings.client_id
    assert claims["oid"] == settings.service_principal_id
    assert before - 1 <= claims["iat"] == claims["nbf"] <= claims["exp"] - settings.token_lifetime + 1
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS256"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_dataverse_scope_is_the_environment_url_in_either_host_spelling(https, settings, host):
    resource = f"https://{host}:{settings.dataverse_port}"

    response = https.post(settings.token_url, data=_form(settings, scope=f"{resource}/.default"))

    assert response.status_code == 200
    assert _verified_claims(https, settings, response.json()["access_token"], resource)["aud"] == resource


def test_client_secret_may_be_sent_with_http_basic_authentication(https, settings):
    form = _form(settings, client_id=None, client_secret=None)

    response = https.post(settings.token_url, data=form, auth=(settings.client_id, settings.client_secret))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("changes", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_secret": None}, 401, "invalid_client", 7000216),
        ({"client_id": "00000000-0000-0000-0000-000000000001"}, 400, "unauthorized_client", 700016),
        (
            {"scope": "https://api.businesscentral.dynamics.com/user_impersonation"},
            400,
            "invalid_scope",
            1002012,
        ),
        ({"scope": "not a scope"}, 400, "invalid_scope", 70011),
        ({"scope": "https://graph.microsoft.com/.default"}, 400, "invalid_resource", 500011),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"grant_type": None}, 400, "invalid_request", 900144),
        ({"client_id": None}, 400, "invalid_request", 900144),
        ({"scope": None}, 400, "invalid_request", 900144),
    ],
)
def test_rejected_token_request_answers_in_entra_error_shape(https, settings, changes, status, error, code):
    response = https.post(settings.token_url, data=_form(settings, **changes))

    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["error_codes"] == [code]
    assert body["trace_id"] in body["error_description"]
    assert body["correlation_id"] and body["timestamp"]
    assert "access_token" not in body


def test_unknown_tenant_is_rejected_with_aadsts90002(https, settings):
    url = f"{settings.entra_url}/00000000-0000-0000-0000-00000000beef/oauth2/v2.0/token"

    response = https.post(url, data=_form(settings))

    assert (response.status_code, response.json()["error_codes"]) == (400, [90002])


def test_openid_configuration_lists_what_msal_needs(https, settings):
    response = https.get(f"{settings.entra_url}/{settings.tenant_id}/v2.0/.well-known/openid-configuration")

    config = response.json()
    assert config["issuer"] == settings.issuer
    assert config["token_endpoint"] == settings.token_url
    assert config["authorization_endpoint"].startswith(f"{settings.entra_url}/{settings.tenant_id}/")
    assert https.get(config["jwks_uri"]).json()["keys"][0]["kty"] == "RSA"


def test_admin_route_issues_an_already_expired_token(https, settings):
    response = https.post(
        f"{settings.entra_url}/_sandbox/token",
        json={"scope": f"{settings.bc_resource}/.default", "lifetime": -60},
    )

    token = response.json()["access_token"]
    with pytest.raises(jwt.ExpiredSignatureError):
        _verified_claims(https, settings, token, settings.bc_resource)


def test_msal_confidential_client_gets_a_token_once_and_then_uses_its_cache(
    local, new_session, https, settings
):
    https.post(f"{settings.entra_url}/_sandbox/stats/reset")
    app = msal.ConfidentialClientApplication(
        settings.client_id,
        client_credential=settings.client_secret,
        authority=f"{settings.entra_url}/{settings.tenant_id}",
        instance_discovery=False,
        http_client=new_session(settings.ca_file),
    )
    scopes = [f"{settings.dataverse_resource}/.default"]

    first = app.acquire_token_for_client(scopes=scopes)
    second = app.acquire_token_for_client(scopes=scopes)

    assert first["token_type"] == "Bearer"
    assert _verified_claims(https, settings, first["access_token"], settings.dataverse_resource)
    assert second["access_token"] == first["access_token"]
    assert second["token_source"] == "cache"
    routes = https.get(f"{settings.entra_url}/_sandbox/stats").json()["by_route"]
    assert routes["POST /{id}/oauth2/v2.0/token"] == {"200": 1}


def test_msal_reports_a_bad_secret_as_invalid_client(new_session, settings):
    app = msal.ConfidentialClientApplication(
        settings.client_id,
        client_credential="wrong",
        authority=f"{settings.entra_url}/{settings.tenant_id}",
        instance_discovery=False,
        http_client=new_session(settings.ca_file),
    )

    result = app.acquire_token_for_client(scopes=[f"{settings.bc_resource}/.default"])

    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]


def test_azure_identity_client_secret_credential_gets_a_token(https, settings):
    credential = ClientSecretCredential(
        settings.tenant_id,
        settings.client_id,
        settings.client_secret,
        authority=settings.entra_url,
        disable_instance_discovery=True,
        connection_verify=str(settings.ca_file),
    )

    token = credential.get_token(f"{settings.bc_resource}/.default")

    assert token.expires_on > time.time() + 3000
    assert _verified_claims(https, settings, token.token, settings.bc_resource)["appid"] == settings.client_id


def test_azure_identity_raises_client_authentication_error_on_bad_secret(settings):
    credential = ClientSecretCredential(
        settings.tenant_id,
        settings.client_id,
        "wrong",
        authority=settings.entra_url,
        disable_instance_discovery=True,
        connection_verify=str(settings.ca_file),
    )

    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token(f"{settings.bc_resource}/.default")
