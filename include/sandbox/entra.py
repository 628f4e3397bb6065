"""The local Microsoft Entra ID: client-credentials token endpoint, OpenID configuration and JWKS.

Access tokens are RS256 JWTs signed with a key kept in the data dir, one audience per requested
`<resource>/.default` scope. Errors carry Entra's JSON shape and AADSTS codes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.settings import SandboxSettings

# Scopes OpenID clients may add to any request; they name no resource.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})


class EntraError(Exception):
    """A token-service failure, rendered as Entra's error JSON."""

    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.status = status
        self.error = error
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        now = dt.datetime.now(dt.UTC)
        timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        description = (
            f"AADSTS{self.code}: {self.message}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {now.strftime('%Y-%m-%d %H:%M:%S')}Z"
        )
        body = {
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        return JSONResponse(body, status_code=self.status, headers={"Cache-Control": "no-store, no-cache"})


def missing_parameter(name: str) -> EntraError:
    return EntraError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


@dataclass(frozen=True)
class SigningKey:
    """The RSA key pair that signs access tokens (`token-signing-key.pem` in the data dir)."""

    private_key: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SigningKey:
        path = data_dir / "token-signing-key.pem"
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path} does not hold an RSA private key")
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
            temporary.replace(path)
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        kid = _b64url(hashlib.sha256(der).digest()[:20])
        return cls(private_key=key, kid=kid)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    claims: dict[str, Any]


class TokenIssuer:
    """Turns a `<resource>/.default` scope into a signed access token for the configured app."""

    def __init__(self, settings: SandboxSettings, signing_key: SigningKey) -> None:
        self.settings = settings
        self.signing_key = signing_key
        # Seconds a new token lives: SANDBOX_TOKEN_LIFETIME at start, changed at run time through
        # `PUT /_sandbox/token-lifetime` (a tenant's short-lived tokens), restored by a reset.
        self.lifetime = settings.token_lifetime

    def resource_for_scope(self, scope: str) -> str:
        """The audience for a client-credentials scope, or an `EntraError` saying why there is none."""
        requested = [s for s in scope.split() if s.lower() not in OIDC_SCOPES]
        if len(requested) != 1:
            raise EntraError(
                400,
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. "
                f"The scope '{scope}' is not valid.",
            )
        (only,) = requested
        resource, _, suffix = only.rpartition("/")
        if not resource or urlsplit(resource).scheme not in ("https", "api") or not urlsplit(resource).netloc:
            raise EntraError(
                400,
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. "
                f"The scope '{only}' is not valid.",
            )
        if suffix != ".default":
            raise EntraError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {only} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        audience = _normalise_resource(resource)
        if audience == self.settings.bc_resource or audience in self.settings.dataverse_audiences:
            return audience
        raise EntraError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the "
            f"tenant named {self.settings.tenant_id}. This can happen if the application has not been "
            "installed by the administrator of the tenant or consented to by any user in the tenant. "
            "You might have sent your authentication request to the wrong tenant.",
        )

    def issue(self, audience: str, lifetime: int | None = None) -> IssuedToken:
        """Sign a token for `audience`; a negative `lifetime` gives one that has already expired."""
        settings = self.settings
        seconds = self.lifetime if lifetime is None else lifetime
        now = int(time.time())
        issued_at = min(now, now + seconds - 60)  # keep iat/nbf before exp for expired test tokens
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": settings.issuer,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": now + seconds,
            "tid": settings.tenant_id,
            "appid": settings.client_id,
            "azp": settings.client_id,
            "oid": settings.service_principal_id,
            "sub": settings.service_principal_id,
            "idtyp": "app",
            "ver": "1.0",
            "uti": secrets.token_urlsafe(16),
        }
        if audience == settings.bc_resource:
            claims["roles"] = ["API.ReadWrite.All"]
        token = jwt.encode(
            claims, self.signing_key.private_key, algorithm="RS256", headers={"kid": self.signing_key.kid}
        )
        return IssuedToken(access_token=token, expires_in=max(seconds, 0), claims=claims)


def create_app(settings: SandboxSettings, issuer: TokenIssuer) -> FastAPI:
    """The Entra ID routes (no admin routes; see `sandbox.admin`)."""
    app = FastAPI(title="Sandbox Entra ID", openapi_url=None, docs_url=None, redoc_url=None)

    @app.exception_handler(EntraError)
    async def entra_error(_request: Request, error: EntraError) -> JSONResponse:
        return error.response()

    def check_tenant(tenant: str) -> None:
        if tenant.lower() != settings.tenant_id.lower():
            raise EntraError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud. Check with your subscription "
                "administrator, this may happen if there are no active subscriptions for the tenant.",
            )

    @app.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> JSONResponse:
        check_tenant(tenant)
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        basic_id, basic_secret = _basic_credentials(request.headers.get("authorization"))
        grant_type = fields.get("grant_type")
        if not grant_type:
            raise missing_parameter("grant_type")
        if grant_type != "client_credentials":
            raise EntraError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        client_id = fields.get("client_id") or basic_id
        if not client_id:
            raise missing_parameter("client_id")
        scope = fields.get("scope")
        if not scope:
            raise missing_parameter("scope")
        if client_id.lower() != settings.client_id.lower():
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found "
                f"in the directory '{settings.tenant_id}'. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in the tenant. You "
                "may have sent your authentication request to the wrong tenant.",
            )
        secret = fields.get("client_secret") or basic_secret
        if not secret:
            raise EntraError(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required "
                "for the 'client_credentials' grant type.",
            )
        if not secrets.compare_digest(secret.encode(), settings.client_secret.encode()):
            raise EntraError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent "
                "in the request is the client secret value, not the client secret ID, for a secret added to "
                f"app '{settings.client_id}'.",
            )
        issued = issuer.issue(issuer.resource_for_scope(scope))
        body = {
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "ext_expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    @app.get("/{tenant}/oauth2/v2.0/token")
    async def token_by_get(tenant: str) -> JSONResponse:
        check_tenant(tenant)
        raise EntraError(
            400, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a GET request."
        )

    @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
    async def openid_configuration(tenant: str) -> dict[str, Any]:
        check_tenant(tenant)
        base = f"{settings.entra_url}/{settings.tenant_id}"
        return {
            "issuer": settings.issuer,
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "sandbox.local",
        }

    @app.get("/{tenant}/discovery/v2.0/keys")
    async def keys(tenant: str) -> dict[str, Any]:
        check_tenant(tenant)
        return {"keys": [issuer.signing_key.jwk() | {"issuer": settings.issuer}]}

    return app


def _basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """Client id and secret from `Authorization: Basic` (each form-urlencoded, RFC 6749 §2.3.1)."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        return None, None
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


def _normalise_resource(resource: str) -> str:
    parts = urlsplit(resource.rstrip("/"))
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
