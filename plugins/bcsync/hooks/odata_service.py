"""What the BC and Dataverse hooks share: an `HttpHook` whose session carries Entra ID bearer tokens, the
connection's TLS trust and a pool sized to the hook's concurrency, wrapped in the retrying transport."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, Self, TypeVar
from urllib.parse import urlencode

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests.adapters import BaseAdapter, HTTPAdapter
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter

from bcsync.wire import odata
from bcsync.wire.auth import BearerAuth, EntraTokenProvider
from bcsync.wire.connection import AirflowConnection, ServiceConnection
from bcsync.wire.errors import ClientError, ConfigurationError, RecordRejected
from bcsync.wire.odata import Filter
from bcsync.wire.paging import ODataPager, max_page_size_preference
from bcsync.wire.retry import RetryPolicy
from bcsync.wire.transport import ServiceTransport
from bcsync.wire.writes import WriteResult, chunks, map_in_order

T = TypeVar("T")


class ODataServiceHook(HttpHook):
    """Base of `DataverseHook` and `BusinessCentralHook`; subclasses name the connection type and URLs.

    `HttpHook` builds the session (`HttpHook.get_conn`) with three changes: bearer tokens from Entra ID
    instead of basic auth, TLS trust from the `ca_bundle` extra and never from the environment, and
    extras that stay settings instead of becoming request headers. `get_conn()` returns the
    `ServiceTransport` around that session, through which every request of the hook is sent.

    :param conn_id: the Airflow Connection id.
    :param connection: a Connection object to use instead of looking `conn_id` up (see `from_connection`).
    :param adapter: HttpHook's `adapter`: a `requests` adapter for the service's URLs (tests fake the wire
        with it); by default a keep-alive pool with room for the hook's concurrency.
    :param sleep: how retries wait (tests pass a recorder).
    :param max_in_flight: at most this many requests at once, whatever the connection says: the slots
        the task holds in the service's Airflow pool (`bcsync.pools`).
    :param method: HttpHook's `method`, used by `run`.
    """

    default_host = ""
    default_page_size = 5000
    max_page_size = 5000
    default_concurrency = 4
    concurrency_limit: int | None = None  # the service's own cap on one user's requests in flight

    def __init__(
        self,
        conn_id: str,
        *,
        connection: AirflowConnection | None = None,
        adapter: BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_in_flight: int | None = None,
        method: str = "GET",
    ) -> None:
        # Our own adapter replaces HttpHook's keep-alive one: it is sized once the settings are read.
        super().__init__(method=method, http_conn_id=conn_id, adapter=adapter, tcp_keep_alive=False)  # type: ignore[arg-type]
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        setattr(self, self.conn_name_attr, conn_id)
        self._connection = connection
        # HttpHook looks the Connection up by id while building the session: answer with the one the
        # settings came from (looked up once, or given to `from_connection`).
        self.get_connection = self._own_connection  # type: ignore[method-assign]
        self._max_in_flight = max_in_flight
        self._sleep = sleep
        self._transport_lock = threading.Lock()
        self._transport: ServiceTransport | None = None

    @classmethod
    def from_connection(cls, connection: AirflowConnection, **options: Any) -> Self:
        """A hook over a Connection object (no lookup): tests and callers that build connections in code."""
        return cls(connection.conn_id, connection=connection, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.conn_name_attr}={getattr(self, self.conn_name_attr)!r})"

    def _own_connection(self, conn_id: str) -> Any:
        if conn_id != self.http_conn_id:
            return type(self).get_connection(conn_id)
        if self._connection is None:
            self._connection = type(self).get_connection(conn_id)
        return self._connection

    @classmethod
    def default_scope(cls, base_url: str) -> str:
        raise NotImplementedError

    @cached_property
    def settings(self) -> ServiceConnection:
        return ServiceConnection.from_airflow(
            self.get_connection(self.http_conn_id),
            default_host=self.default_host,
            default_scope=self.default_scope,
        )

    @property
    def concurrency(self) -> int:
        """Requests this hook keeps in flight at once: the connection's extra `max_concurrency` (or the
        default), at most the service's limit and the Airflow pool slots the task holds."""
        wanted = self.settings.max_concurrency or self.default_concurrency
        caps = [c for c in (self.concurrency_limit, self._max_in_flight) if c is not None]
        return min([wanted, *caps])

    def service_root(self) -> str:
        """The URL relative paths of this hook resolve against."""
        raise NotImplementedError

    def service_time(self, moment: datetime) -> datetime | None:
        """Our `moment` on the service's clock, at the latest (its responses' `Date` headers tell);
        None before any response carried one."""
        return self.get_conn().clock.on_service(moment)

    # -- the session, as HttpHook builds it --------------------------------------------------------------

    def get_conn(self) -> ServiceTransport:  # type: ignore[override]
        """The transport (session, token, retries) for this connection, built once per hook."""
        with self._transport_lock:
            if self._transport is None:
                self._transport = self._build_transport()
            return self._transport

    def _build_transport(self) -> ServiceTransport:
        settings = self.settings
        if self.adapter is None:
            self.adapter = _pooled_adapter(self.concurrency + 2)  # +2: a token renewal, a next page
        session = super().get_conn()
        auth = session.auth
        if not isinstance(auth, BearerAuth):
            raise TypeError(f"{type(self).__name__}'s session must carry bearer auth, not {auth!r}")
        return ServiceTransport(
            self.service_root(),
            session=session,
            auth=auth,
            timeout=settings.timeout,
            retry=RetryPolicy(max_retries=settings.max_retries),
            max_concurrency=self.concurrency,
            sleep=self._sleep,
        )

    def _set_base_url(self, connection: Any) -> None:
        """Endpoints resolve against the service root (an https URL validated by the settings)."""
        self.base_url = self.service_root().rstrip("/")
        self._base_url_initialized = True

    def _configure_session_from_auth(self, session: requests.Session, connection: Any) -> requests.Session:
        """Entra ID client-credentials tokens (MSAL) for the connection's scope, not basic auth."""
        settings = self.settings
        provider = EntraTokenProvider(
            tenant_id=settings.tenant_id,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            authority=settings.authority,
            session=session,
            timeout=settings.timeout,
        )
        session.auth = BearerAuth(provider, settings.scope)
        return session

    def _configure_session_from_extra(
        self, session: requests.Session, connection: Any, extra_options: dict[str, Any]
    ) -> requests.Session:
        """TLS trust from `ca_bundle`; the extras are settings, never request headers as in HttpHook.

        HttpHook calls this whenever the connection has extras, which ours always have (`tenant_id`).
        """
        session.verify = self.settings.ca_bundle or True
        # trust_env=False: REQUESTS_CA_BUNDLE or proxy variables would silently override `verify`.
        session.trust_env = False
        return session

    # -- HttpHook's request API, through the transport ----------------------------------------------------

    def run(
        self,
        endpoint: str | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        headers: dict[str, Any] | None = None,
        extra_options: dict[str, Any] | None = None,
        **request_kwargs: Any,
    ) -> requests.Response:
        """HttpHook's `run`: `self.method` on `endpoint` (relative to the service root), sent through the
        transport, so it is retried, classified and authenticated like every other request.

        `data` is the query of a GET or the body of other methods; a JSON body goes in `json=`.
        Timeouts, retries and TLS come from the connection, so `extra_options` are refused.
        """
        unsupported = sorted(set(request_kwargs) - {"json"}) + (["extra_options"] if extra_options else [])
        if unsupported:
            raise ConfigurationError(f"{type(self).__name__}.run does not take {', '.join(unsupported)}")
        url, body = endpoint or "", None
        if isinstance(data, Mapping):
            if self.method != "GET":
                raise ConfigurationError("a mapping as `data` is a GET's query; send a JSON body with json=")
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(data)}"
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        return self.get_conn().request(
            self.method, url, json=request_kwargs.get("json"), data=body, headers=headers
        )

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's connection test: one authenticated read; any failure is the message shown."""
        try:
            return True, self.check_connection()
        except ClientError as error:
            return False, str(error)

    def check_connection(self) -> str:
        """Prove URL, TLS trust, token and permissions work; return what was found."""
        raise NotImplementedError

    # -- reading and writing, shared by both services -----------------------------------------------------

    def _pager(
        self,
        page_size: int | None,
        *,
        prefer: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
    ) -> ODataPager:
        size = page_size or self.settings.page_size or self.default_page_size
        return ODataPager(
            self.get_conn(),
            prefer=[max_page_size_preference(size, self.max_page_size), *prefer],
            headers=headers or {},
        )

    def _query_pages(
        self,
        collection: str,
        *,
        select: Iterable[str],
        filter: Filter | str | None,
        orderby: Iterable[str] | None,
        page_size: int | None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The records of `collection` (a path relative to the service root) with a query, page by page."""
        options = odata.query_options(select_fields=select, filter=filter, orderby_fields=orderby)
        url = f"{collection}?{odata.encode_query(options)}"
        for page in self._pager(page_size, headers=headers).pages(url):
            yield page.records

    def _get_or_none(self, url: str, *, headers: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """The JSON object at `url`, or None when the service answers 404."""
        try:
            return self.get_conn().get_json(url, headers=headers)
        except RecordRejected as rejection:
            if rejection.status == 404:
                return None
            raise

    def _write_in_pieces(
        self,
        items: Sequence[T],
        send: Callable[[tuple[int, Sequence[T]]], list[WriteResult]],
        *,
        batch_size: int,
        limit: int,
    ) -> list[WriteResult]:
        """The results of `send` over `(offset, piece)`s of `items`, in input order.

        Pieces hold at most `batch_size` items (which must be ≤ the service's `limit`); up to
        `concurrency` of them are sent at once.
        """
        pieces = list(chunks(items, batch_size, limit=limit))
        results = map_in_order(send, pieces, workers=self.concurrency)
        return [result for piece_results in results for result in piece_results]


def _pooled_adapter(pool_size: int) -> HTTPAdapter:
    """HttpHook's TCP keep-alive adapter (its default timings) with room for `pool_size` connections per
    host, and no urllib3 retries: the transport decides what is retried."""
    return TCPKeepAliveAdapter(
        idle=120, count=20, interval=30, pool_connections=4, pool_maxsize=pool_size, max_retries=0
    )
