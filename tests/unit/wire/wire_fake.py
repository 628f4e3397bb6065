"""A fake HTTPS wire for the client tests: a `requests` adapter that answers scripted routes.

Every request must match a route (else the test fails), and `verify()` fails when a scripted
response was never asked for. Requests are recorded so tests can assert on what crossed the wire.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

TENANT = "11111111-2222-4333-8444-555555555555"
AUTHORITY = f"https://login.sandbox.test/{TENANT}"


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    """One request as it crossed the wire."""

    method: str
    url: str
    headers: CaseInsensitiveDict
    body: bytes

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.url).path)

    @property
    def query(self) -> dict[str, str]:
        """Decoded query options (single-valued)."""
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query, keep_blank_values=True).items()}

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Reply | Callable[[Sent], Reply]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    replies: list[Responder]
    repeat: bool
    hits: int = 0

    def matches(self, sent: Sent) -> bool:
        return sent.method == self.method and bool(self.pattern.search(sent.url))

    def next_reply(self, sent: Sent) -> Reply:
        responder = self.replies[min(self.hits, len(self.replies) - 1)]
        self.hits += 1
        return responder(sent) if callable(responder) else responder

    @property
    def exhausted(self) -> bool:
        return not self.repeat and self.hits >= len(self.replies)


class FakeWire(BaseAdapter):
    """Scripted HTTPS endpoints; unmatched requests raise AssertionError in the caller."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[Route] = []
        self.sent: list[Sent] = []
        self.unexpected: list[str] = []

    def on(self, method: str, url_pattern: str, *replies: Responder, repeat: bool = False) -> Route:
        """Expect `method` on URLs matching `url_pattern` (regex), answered by `replies` in order."""
        route = Route(method.upper(), re.compile(url_pattern), list(replies) or [Reply()], repeat)
        self.routes.append(route)
        return route

    def serve_entra(self, *tokens: str, authority: str = AUTHORITY) -> Route:
        """An Entra ID authority (OpenID configuration + token endpoint) issuing `tokens` in turn."""
        self.on(
            "GET",
            re.escape(f"{authority}/v2.0/.well-known/openid-configuration"),
            Reply(
                json={
                    "issuer": f"{authority}/v2.0",
                    "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{authority}/oauth2/v2.0/token",
                }
            ),
            repeat=True,
        )
        replies = [
            Reply(json={"token_type": "Bearer", "expires_in": 3599, "access_token": token})
            for token in tokens or ("token-1",)
        ]
        return self.on("POST", re.escape(f"{authority}/oauth2/v2.0/token"), *replies, repeat=True)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body or b""
        sent = Sent(
            request.method or "", request.url or "", CaseInsensitiveDict(request.headers), _bytes(body)
        )
        self.sent.append(sent)
        route = next((r for r in self.routes if not r.exhausted and r.matches(sent)), None)
        if route is None:
            self.unexpected.append(f"{sent.method} {sent.url}")
            raise AssertionError(f"unexpected request: {sent.method} {sent.url}")
        reply = route.next_reply(sent)
        return _response(request, reply)

    def close(self) -> None:
        """Sessions close their adapters; the fake keeps its record for the assertions."""

    def to(self, pattern: str, method: str | None = None) -> list[Sent]:
        """Requests whose URL matches `pattern` (and `method`, when given)."""
        return [s for s in self.sent if re.search(pattern, s.url) and (method is None or s.method == method)]

    def verify(self) -> None:
        assert not self.unexpected, f"unexpected requests: {self.unexpected}"
        missing = [f"{r.method} {r.pattern.pattern}" for r in self.routes if not r.repeat and not r.exhausted]
        assert not missing, f"expected requests that never happened: {missing}"


def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def _response(request: requests.PreparedRequest, reply: Reply) -> requests.Response:
    response = requests.Response()
    response.status_code = reply.status
    headers = dict(reply.headers)
    if reply.json is not None:
        response._content = json.dumps(reply.json).encode()
        headers.setdefault("Content-Type", "application/json; odata.metadata=minimal")
    else:
        response._content = _bytes(reply.body)
    response.headers = CaseInsensitiveDict(headers)
    response.url = request.url or ""
    response.request = request
    response.reason = "scripted"
    response.encoding = "utf-8"
    return response


def odata_error(status: int, code: str, message: str, **headers: str) -> Reply:
    """A reply in both services' error shape."""
    return Reply(status=status, json={"error": {"code": code, "message": message}}, headers=headers)
