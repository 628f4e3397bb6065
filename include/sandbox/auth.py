"""Bearer-token check in front of a service: signature, expiry, issuer, tenant and audience.

Failures answer 401 with `WWW-Authenticate` and the service's own error body; success puts the
caller on `request.state.principal`. `/_sandbox/` admin paths pass without a token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.context import Principal

ADMIN_PREFIX = "/_sandbox/"

# The `error_response` each service app exports: (status, code, message, headers) -> its error JSON.
ErrorResponder = Callable[..., Response]


class AuthFailure(StrEnum):
    MISSING = "missing"
    INVALID = "invalid"
    EXPIRED = "expired"
    WRONG_AUDIENCE = "wrong_audience"


# Error codes each service puts in its 401 body. Dataverse uses hex codes (BadAuthTicket,
# ExpiredAuthTicket); BC answers every authentication failure with Authentication_InvalidCredentials.
DATAVERSE_AUTH_CODES: dict[AuthFailure, str] = {
    AuthFailure.MISSING: "0x8004a100",
    AuthFailure.INVALID: "0x8004a100",
    AuthFailure.EXPIRED: "0x8004a101",
    AuthFailure.WRONG_AUDIENCE: "0x8004a100",
}
BC_AUTH_CODES: dict[AuthFailure, str] = dict.fromkeys(AuthFailure, "Authentication_InvalidCredentials")

MESSAGES: dict[AuthFailure, str] = {
    AuthFailure.MISSING: "The request does not carry a bearer token (Authorization: Bearer <token>).",
    AuthFailure.INVALID: "The bearer token is malformed or its signature is not valid.",
    AuthFailure.EXPIRED: "The bearer token has expired.",
    AuthFailure.WRONG_AUDIENCE: "The bearer token was issued for another resource.",
}


class TokenRejected(Exception):
    def __init__(self, failure: AuthFailure, detail: str = "") -> None:
        super().__init__(detail or MESSAGES[failure])
        self.failure = failure


@dataclass(frozen=True)
class TokenVerifier:
    """Checks tokens from the sandbox Entra ID for one service's audiences."""

    public_key: rsa.RSAPublicKey
    issuer: str
    tenant_id: str
    audiences: frozenset[str]

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                audience=sorted(self.audiences),
                issuer=self.issuer,
                options={"require": ["exp", "aud", "iss", "appid", "oid", "tid"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenRejected(AuthFailure.EXPIRED) from error
        except jwt.InvalidAudienceError as error:
            raise TokenRejected(AuthFailure.WRONG_AUDIENCE) from error
        except jwt.PyJWTError as error:
            raise TokenRejected(AuthFailure.INVALID, f"{MESSAGES[AuthFailure.INVALID]} ({error})") from error
        if str(claims["tid"]).lower() != self.tenant_id.lower():
            raise TokenRejected(AuthFailure.INVALID, "The bearer token was issued by another tenant.")
        return Principal(
            tenant_id=claims["tid"], app_id=claims["appid"], object_id=claims["oid"], audience=claims["aud"]
        )


class BearerAuthMiddleware:
    """ASGI middleware: 401 in the service's shape unless the request carries a valid token."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        resource: str,
        authorization_uri: str,
        error_response: ErrorResponder,
        codes: dict[AuthFailure, str],
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.error_response = error_response
        self.codes = codes
        self.challenge = f'Bearer authorization_uri="{authorization_uri}", resource_id="{resource}"'

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        try:
            principal = self.verifier.verify(_bearer_token(scope))
        except TokenRejected as rejection:
            response = self.error_response(
                401, self.codes[rejection.failure], str(rejection), {"WWW-Authenticate": self.challenge}
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _bearer_token(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise TokenRejected(AuthFailure.MISSING, "The Authorization header is not a bearer token.")
    raise TokenRejected(AuthFailure.MISSING)
