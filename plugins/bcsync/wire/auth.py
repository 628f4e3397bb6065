"""Microsoft Entra ID client-credentials tokens through MSAL, and the bearer auth that puts them on requests.

MSAL caches per scope and renews before expiry; a 401 from a service forces one renewal (`refresh`).
"""

from __future__ import annotations

import threading
from typing import Any

import msal
import requests
from requests.auth import AuthBase

from bcsync.wire.errors import AuthenticationFailed, ConfigurationError, TransientServiceError

MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"


def default_authority(tenant_id: str) -> str:
    return f"{MICROSOFT_AUTHORITY_HOST}/{tenant_id}"


class EntraTokenProvider:
    """App-only access tokens for one Entra ID application (client id + secret).

    :param tenant_id: the directory (tenant) id or domain.
    :param client_id: the application (client) id.
    :param client_secret: the client secret; kept out of `repr` and every message.
    :param authority: token authority URL; default `https://login.microsoftonline.com/{tenant_id}`.
        Any other authority (a sovereign cloud, the local sandbox) skips Microsoft's instance discovery.
    :param session: the `requests.Session` MSAL talks through (carries TLS trust, pooling, adapters);
        the session's own auth (the bearer auth of the service it serves) is never sent to Entra ID.
    :param timeout: seconds per token request.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        authority: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not tenant_id or not client_id or not client_secret:
            raise ConfigurationError("tenant_id, client id (login) and client secret (password) are required")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._client_secret = client_secret
        self.authority = (authority or default_authority(tenant_id)).rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()
        self._current: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"EntraTokenProvider(authority={self.authority!r}, client_id={self.client_id!r})"

    def get_token(self, scope: str) -> str:
        """A valid access token for `scope` (from MSAL's cache unless it is missing or near expiry)."""
        result = self._acquire(scope)
        token = result["access_token"]
        self._current[scope] = token
        return token

    def refresh(self, scope: str, stale_token: str) -> str:
        """A new token after a service refused `stale_token`; parallel callers share one renewal."""
        with self._lock:
            if self._current.get(scope) == stale_token:
                self._application().remove_tokens_for_client()
                self._current.pop(scope, None)
            return self.get_token(scope)

    def _acquire(self, scope: str) -> dict[str, Any]:
        try:
            result = self._application().acquire_token_for_client(scopes=[scope])
        except (requests.ConnectionError, requests.Timeout) as error:
            raise TransientServiceError(f"token endpoint {self.authority} unreachable: {error}") from error
        if not result or "access_token" not in result:
            error = (result or {}).get("error", "no_token")
            description = str((result or {}).get("error_description", "")).splitlines()
            raise AuthenticationFailed(
                f"Entra ID refused a token for client {self.client_id} and scope {scope} "
                f"at {self.authority}: {error}: {description[0] if description else 'no description'}"
            )
        return result

    def _application(self) -> msal.ConfidentialClientApplication:
        # Built lazily: MSAL fetches the authority's OpenID configuration on construction.
        with _construction_lock:
            if self._app is None:
                microsoft = self.authority.lower().startswith(MICROSOFT_AUTHORITY_HOST)
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=self._client_secret,
                        authority=self.authority,
                        instance_discovery=microsoft,
                        http_client=_TokenEndpointClient(self._session),
                        timeout=self._timeout,
                    )
                except ValueError as error:
                    raise ConfigurationError(
                        f"authority {self.authority!r} is not usable: {error}"
                    ) from error
                except (requests.ConnectionError, requests.Timeout) as error:
                    raise TransientServiceError(f"authority {self.authority} unreachable: {error}") from error
            return self._app


_construction_lock = threading.Lock()


class _TokenEndpointClient:
    """A hook's session as MSAL's `http_client`: the same pool, adapters and TLS trust, without the
    session's bearer auth, which would ask MSAL for a token while MSAL is fetching one."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self._session.get(url, auth=_no_auth, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self._session.post(url, auth=_no_auth, **kwargs)

    def close(self) -> None:
        """The hook owns the session; MSAL must not close it."""


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class BearerAuth(AuthBase):
    """`requests` auth that sends `Authorization: Bearer <token>` for one scope."""

    def __init__(self, provider: EntraTokenProvider, scope: str) -> None:
        self.provider = provider
        self.scope = scope

    def __repr__(self) -> str:
        return f"BearerAuth(scope={self.scope!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.provider.get_token(self.scope)}"
        return request

    def refresh(self, request: requests.PreparedRequest) -> None:
        """Renew the token the service refused on `request`."""
        sent = str(request.headers.get("Authorization", "")).removeprefix("Bearer ")
        self.provider.refresh(self.scope, sent)
