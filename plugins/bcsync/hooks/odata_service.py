"""What the BC and Dataverse hooks share: Connection → settings → MSAL tokens → pooled, retrying transport."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any, Self, TypeVar

from airflow.sdk import BaseHook
from requests.adapters import BaseAdapter

from bcsync.wire import odata
from bcsync.wire.auth import BearerAuth, EntraTokenProvider
from bcsync.wire.connection import AirflowConnection, ServiceConnection
from bcsync.wire.errors import RecordRejected
from bcsync.wire.odata import Filter
from bcsync.wire.paging import ODataPager, max_page_size_preference
from bcsync.wire.transport import RetryPolicy, ServiceTransport, build_session
from bcsync.wire.writes import WriteResult, chunks, map_in_order

T = TypeVar("T")


class ODataServiceHook(BaseHook):
    """Base of `DataverseHook` and `BusinessCentralHook`; subclasses name the connection type and URLs.

    :param conn_id: the Airflow Connection id.
    :param connection: a Connection object to use instead of looking `conn_id` up (see `from_connection`).
    :param adapter: a `requests` transport adapter mounted for every URL (tests fake the wire with it).
    :param sleep: how retries wait (tests pass a recorder).
    :param max_in_flight: at most this many requests at once, whatever the connection says: the slots
        the task holds in the service's Airflow pool (`bcsync.pools`).
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
    ) -> None:
        super().__init__()
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        setattr(self, self.conn_name_attr, conn_id)
        self._connection = connection
        self._max_in_flight = max_in_flight
        self._adapter = adapter
        self._sleep = sleep
        self._transport_lock = threading.Lock()
        self._transport: ServiceTransport | None = None

    @classmethod
    def from_connection(cls, connection: AirflowConnection, **options: Any) -> Self:
        """A hook over a Connection object (no lookup): tests and callers that build connections in code."""
        return cls(connection.conn_id, connection=connection, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.conn_name_attr}={getattr(self, self.conn_name_attr)!r})"

    @classmethod
    def default_scope(cls, base_url: str) -> str:
        raise NotImplementedError

    @staticmethod
    def client_credentials_form(*, host_label: str, host: str, extra: str) -> dict[str, Any]:
        """The connection form of a client-credentials service: what `get_ui_field_behaviour` returns.

        Each hook still defines `get_ui_field_behaviour` itself: Airflow reads it only from the hook's own
        class, never inherited.
        """
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {"host": host_label, "login": "Client ID", "password": "Client secret"},
            "placeholders": {"host": host, "extra": extra},
        }

    @cached_property
    def settings(self) -> ServiceConnection:
        connection = self._connection or self.get_connection(getattr(self, self.conn_name_attr))
        return ServiceConnection.from_airflow(
            connection, default_host=self.default_host, default_scope=self.default_scope
        )

    @property
    def concurrency(self) -> int:
        """Requests this hook keeps in flight at once: the connection's extra `max_concurrency` (or the
        default), at most the service's limit and the Airflow pool slots the task holds."""
        wanted = self.settings.max_concurrency or self.default_concurrency
        caps = [c for c in (self.concurrency_limit, self._max_in_flight) if c is not None]
        return min([wanted, *caps])

    def get_conn(self) -> ServiceTransport:
        """The transport (session, token, retries) for this connection, built once per hook."""
        with self._transport_lock:
            if self._transport is None:
                self._transport = self._build_transport()
            return self._transport

    def _build_transport(self) -> ServiceTransport:
        settings = self.settings
        session = build_session(ca_bundle=settings.ca_bundle, pool_size=self.concurrency + 2)
        if self._adapter is not None:
            session.mount("https://", self._adapter)
        provider = EntraTokenProvider(
            tenant_id=settings.tenant_id,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            authority=settings.authority,
            session=session,
            timeout=settings.timeout,
        )
        return ServiceTransport(
            self.service_root(),
            session=session,
            auth=BearerAuth(provider, settings.scope),
            timeout=settings.timeout,
            retry=RetryPolicy(max_retries=settings.max_retries),
            max_concurrency=self.concurrency,
            sleep=self._sleep,
        )

    def service_root(self) -> str:
        """The URL relative paths of this hook resolve against."""
        raise NotImplementedError

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
