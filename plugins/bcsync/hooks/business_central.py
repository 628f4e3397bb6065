"""`BusinessCentralHook`: Business Central's API v2.0 and bcsync's custom API route, for one company.

Reads page by page (read-only replica), writes one record with `If-Match`, or many through JSON `$batch`
(≤100 operations, continue on error) with at most 5 requests in flight, BC's per-user limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from typing import Any

from bcsync.hooks.odata_service import ODataServiceHook
from bcsync.provider import ui_field_behaviour
from bcsync.wire import odata
from bcsync.wire.batch import (
    CONTINUE_ON_ERROR,
    BatchOperation,
    BatchPartResponse,
    decode_json_batch,
    encode_json_batch,
)
from bcsync.wire.errors import ConfigurationError, OutcomeUnknown, RecordRejected, UnexpectedResponse
from bcsync.wire.odata import Filter
from bcsync.wire.writes import (
    Operation,
    WriteResult,
    check_operation,
    part_outcome,
    settle_batch,
)

BC_HOST = "https://api.businesscentral.dynamics.com"
BC_SCOPE = f"{BC_HOST}/.default"
MAX_PAGE_SIZE = 20000
MAX_BATCH_OPERATIONS = 100
MAX_CONCURRENT_REQUESTS = 5  # per user, BC online; more wait in BC's queue and risk 429/503
STANDARD_API = "v2.0"
CUSTOM_API = "custom"
READ_ONLY = {"Data-Access-Intent": "ReadOnly"}

log = logging.getLogger(__name__)


class BusinessCentralHook(ODataServiceHook):
    """Interact with one Business Central company through its APIs.

    Connection: host = BC API host (default `https://api.businesscentral.dynamics.com`), login = client id,
    password = client secret; extras `tenant_id`, `environment`, `company_id` (required), `custom_api`
    (`publisher/group/version` of our API pages, e.g. `bcsync/sync/v1.0`), `authority`, `scope`
    (default `https://api.businesscentral.dynamics.com/.default`), `ca_bundle`, `page_size` (≤20000),
    `timeout`, `max_retries`, `max_concurrency` (≤5). See docs/connections.md.

    Every method takes `api`: `"v2.0"` (standard API), `"custom"` (the connection's `custom_api`), or an
    explicit `publisher/group/version`.

    :param bc_conn_id: the Airflow Connection id (default `bc_default`).
    :param connection, adapter, sleep, max_in_flight, method: see `ODataServiceHook`.
    """

    conn_name_attr = "bc_conn_id"
    default_conn_name = "bc_default"
    conn_type = "business_central"
    hook_name = "Microsoft Dynamics 365 Business Central"
    default_host = BC_HOST
    max_page_size = MAX_PAGE_SIZE
    default_page_size = MAX_PAGE_SIZE  # BC online's own page size: a big table in 4x fewer requests
    default_concurrency = MAX_CONCURRENT_REQUESTS
    concurrency_limit = MAX_CONCURRENT_REQUESTS

    def __init__(self, bc_conn_id: str = default_conn_name, **options: Any) -> None:
        super().__init__(bc_conn_id, **options)

    @classmethod
    def default_scope(cls, base_url: str) -> str:
        return BC_SCOPE

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form's standard fields (declared once, in `bcsync.provider`)."""
        return ui_field_behaviour(cls.conn_type)

    @property
    def company_id(self) -> str:
        return self.settings.require("company_id")

    def service_root(self) -> str:
        settings = self.settings
        return f"{settings.base_url}/v2.0/{settings.tenant_id}/{settings.require('environment')}/"

    def route(self, api: str = STANDARD_API) -> str:
        """The API route relative to the service root, e.g. `api/v2.0` or `api/bcsync/sync/v1.0`."""
        if api == STANDARD_API:
            return "api/v2.0"
        name = self.settings.require("custom_api") if api == CUSTOM_API else api
        parts = name.strip("/").split("/")
        if len(parts) != 3 or not all(part.replace(".", "").replace("_", "").isalnum() for part in parts):
            raise ConfigurationError(f"API {name!r} is not 'publisher/group/version'")
        return "api/" + "/".join(parts)

    # -- reads -------------------------------------------------------------------------------------

    def companies(self) -> list[dict[str, Any]]:
        """The environment's companies (`id`, `name`, `displayName`, ...): a connectivity check."""
        return self.get_conn().get_json("api/v2.0/companies", headers=READ_ONLY).get("value", [])

    def check_connection(self) -> str:
        """The environment answers and lists the connection's company."""
        names = {str(c.get("id", "")).lower(): c.get("name") for c in self.companies()}
        if self.company_id.lower() not in names:
            raise ConfigurationError(
                f"company {self.company_id} is not among the {len(names)} companies of this environment"
            )
        return f"Connected to company {names[self.company_id.lower()]!r}"

    def iter_pages(
        self,
        entity_set: str,
        *,
        select: Iterable[str],
        filter: Filter | str | None = None,
        orderby: Iterable[str] | None = None,
        page_size: int | None = None,
        api: str = STANDARD_API,
    ) -> Iterator[list[dict[str, Any]]]:
        """Entities of the company's `entity_set`, one page (list of dicts) at a time."""
        yield from self._query_pages(
            self._collection(entity_set, api),
            select=select,
            filter=filter,
            orderby=orderby,
            page_size=page_size,
            headers=READ_ONLY,
        )

    def get(
        self,
        entity_set: str,
        id: str,
        *,
        select: Iterable[str] | None = None,
        api: str = STANDARD_API,
    ) -> dict[str, Any] | None:
        """One entity by its `id` (GUID), with `@odata.etag`; None if it does not exist."""
        query = f"?{odata.encode_query({'$select': odata.select(select)})}" if select else ""
        return self._get_or_none(self._entity(entity_set, id, api) + query, headers=READ_ONLY)

    # -- single-record writes ------------------------------------------------------------------------

    def create(
        self, entity_set: str, record: Mapping[str, Any], *, api: str = STANDARD_API
    ) -> dict[str, Any]:
        """Create an entity; returns it as BC stored it (with `id` and `@odata.etag`).

        With an `id` of the caller's choosing (our API pages take one) a lost answer is settled by
        reading that id: there → it was created; absent → it was not, and it is sent again."""
        try:
            response = self.get_conn().request("POST", self._collection(entity_set, api), json=dict(record))
        except OutcomeUnknown:
            if not record.get("id"):
                raise  # no id to look for: the caller reconciles
            found = self._get_or_none(self._entity(entity_set, str(record["id"]), api))
            log.warning(
                "%s %s: the answer to its create was lost; %s",
                entity_set,
                record["id"],
                "it was created" if found else "it was not created, sending it again",
            )
            return found if found is not None else self.create(entity_set, record, api=api)
        return self.get_conn().decode(response)

    def update(
        self,
        entity_set: str,
        id: str,
        changes: Mapping[str, Any],
        *,
        etag: str,
        api: str = STANDARD_API,
    ) -> dict[str, Any]:
        """Change an entity; `etag` is the known `@odata.etag` (409 when stale) or `"*"` explicitly.

        A conditional update whose answer was lost is not sent again as it was (it would fail with 409
        after BC applied it): the record is read again and compared, as for a batch (`lost_update`)."""
        url = self._entity(entity_set, id, api)
        try:
            response = self.get_conn().request(
                "PATCH", url, json=dict(changes), headers={"If-Match": _etag(etag)}, resend_safe=etag == "*"
            )
        except OutcomeUnknown:
            current = self._get_or_none(url)
            verdict = lost_update(current, changes, etag)
            log.warning("%s %s: the answer to its update was lost; %s", entity_set, id, verdict.value)
            if verdict is LostUpdate.APPLIED:
                return current or {}
            if verdict is LostUpdate.NOT_APPLIED:
                return self.update(entity_set, id, changes, etag=etag, api=api)
            raise verdict.error() from None
        return self.get_conn().decode(response)

    def delete(self, entity_set: str, id: str, *, etag: str, api: str = STANDARD_API) -> None:
        """Delete an entity; `etag` as for `update`."""
        self.get_conn().request(
            "DELETE", self._entity(entity_set, id, api), headers={"If-Match": _etag(etag)}
        )

    # -- bulk writes ---------------------------------------------------------------------------------

    def write_many(
        self,
        entity_set: str,
        records: Sequence[Mapping[str, Any]],
        operation: Operation = "create",
        *,
        api: str = STANDARD_API,
        batch_size: int = MAX_BATCH_OPERATIONS,
        if_match: str | None = None,
    ) -> list[WriteResult]:
        """Write many entities with JSON `$batch`; one `WriteResult` per record, in input order.

        `update` and `delete` records carry `id`, and `@odata.etag` unless `if_match` (e.g. `"*"`) is
        given for all. Batches run in parallel up to the hook's concurrency (≤5).
        """
        check_operation(operation, ("create", "update", "delete"))
        route = self.route(api)
        operations = [
            self._batch_operation(entity_set, i, r, operation, if_match) for i, r in enumerate(records)
        ]

        def send_piece(piece: tuple[int, Sequence[BatchOperation]]) -> list[WriteResult]:
            offset, ops = piece
            by_index = {offset + i: op for i, op in enumerate(ops)}

            def outcome(index: int, part: BatchPartResponse) -> WriteResult:
                record = records[index]
                body = part.body if isinstance(part.body, Mapping) else {}
                record_id = str(body.get("id") or record.get("id") or "") or None
                return part_outcome(
                    index, part, record_id=record_id, label=record_id, what=f"{operation} {entity_set}"
                )

            def settle(batch: Mapping[int, BatchOperation]) -> list[WriteResult]:
                return settle_batch(
                    batch,
                    lambda ops: self._send_batch(route, ops),
                    outcome,
                    retry=self.get_conn().retry,
                    sleep=self._sleep,
                )

            try:
                return settle(by_index)
            except OutcomeUnknown:
                if operation != "update":
                    raise
                return self._settle_lost_updates(entity_set, api, records, by_index, settle)

        return self._write_in_pieces(
            operations, send_piece, batch_size=batch_size, limit=MAX_BATCH_OPERATIONS
        )

    def _batch_operation(
        self, entity_set: str, index: int, record: Mapping[str, Any], operation: str, if_match: str | None
    ) -> BatchOperation:
        collection = f"companies({self.company_id})/{odata.property_name(entity_set)}"
        if operation == "create":
            return BatchOperation("POST", collection, body=dict(record))
        record_id = record.get("id")
        if not record_id:
            raise ConfigurationError(f"record {index} has no 'id' to {operation}")
        etag = record.get("@odata.etag") or if_match
        if not etag:
            raise ConfigurationError(f"record {index} has no '@odata.etag'; pass if_match='*' to overwrite")
        url = f"{collection}{odata.key_segment(str(record_id))}"
        if operation == "delete":
            return BatchOperation("DELETE", url, headers={"If-Match": etag})
        changes = {k: v for k, v in record.items() if k not in ("id", "@odata.etag")}
        return BatchOperation("PATCH", url, body=changes, headers={"If-Match": etag})

    def _settle_lost_updates(
        self,
        entity_set: str,
        api: str,
        records: Sequence[Mapping[str, Any]],
        operations: Mapping[int, BatchOperation],
        settle: Callable[[Mapping[int, BatchOperation]], list[WriteResult]],
    ) -> list[WriteResult]:
        """An update batch whose answer was lost: re-read each record (not from the read-only
        replica, which may lag) and compare it with what was sent.

        Fields equal to the update → it was applied (its new ETag is the result). ETag unchanged (or
        the write was unconditional, `If-Match: *`) → it was not applied and nobody else wrote: send
        it again. Otherwise someone changed the record since it was read: it fails as BC's own
        concurrency check would have failed it, and the next run plans it again.
        """
        results: dict[int, WriteResult] = {}
        resend: dict[int, BatchOperation] = {}
        for index, op in operations.items():
            record_id = str(records[index]["id"])
            changes = op.body if isinstance(op.body, Mapping) else {}
            current = self._get_or_none(self._entity(entity_set, record_id, api))
            verdict = lost_update(current, changes, op.headers.get("If-Match") if op.headers else None)
            if verdict is LostUpdate.APPLIED:
                etag = (current or {}).get("@odata.etag")
                results[index] = WriteResult(index=index, id=record_id, etag=etag)
            elif verdict is LostUpdate.NOT_APPLIED:
                resend[index] = op
            else:
                error = verdict.error().for_record(record_id)
                results[index] = WriteResult(index=index, id=record_id, error=error)
        log.warning(
            "%s: the answer to an update batch of %d was lost; %d applied, %d sent again, %d failed",
            entity_set,
            len(operations),
            sum(r.ok for r in results.values()),
            len(resend),
            sum(not r.ok for r in results.values()),
        )
        if resend:
            # A second lost answer fails the task; its retry plans these records again from fresh reads.
            results.update({result.index: result for result in settle(resend)})
        return [results[index] for index in sorted(results)]

    def _send_batch(self, route: str, operations: list[BatchOperation]) -> list[BatchPartResponse]:
        # A $batch is a POST: safe to send again only when every part is an unconditional write
        # (`If-Match: *`). A part with an ETag sent twice fails with 409 after the first one applied.
        response = self.get_conn().request(
            "POST",
            f"{route}/$batch",
            json=encode_json_batch(operations),
            headers={"Prefer": CONTINUE_ON_ERROR, "Content-Type": "application/json"},
            resend_safe=all(
                operation.method != "POST" and (operation.headers or {}).get("If-Match") == "*"
                for operation in operations
            ),
        )
        parts = decode_json_batch(self.get_conn().decode(response), len(operations))
        if any(part is None for part in parts):
            raise UnexpectedResponse("BC $batch left operations unanswered despite continue-on-error")
        return [part for part in parts if part is not None]

    def _collection(self, entity_set: str, api: str) -> str:
        return f"{self.route(api)}/companies({self.company_id})/{odata.property_name(entity_set)}"

    def _entity(self, entity_set: str, id: str, api: str) -> str:
        return f"{self._collection(entity_set, api)}{odata.key_segment(id)}"


class LostUpdate(Enum):
    """What became of an update whose answer was lost, told by the record as it is now."""

    APPLIED = "it was applied"  # the record holds what was sent
    NOT_APPLIED = "it was not applied; sending it again"  # nobody wrote since (or it was unconditional)
    CHANGED = "someone changed the record since it was read"
    GONE = "the record no longer exists"

    def error(self) -> RecordRejected:
        if self is LostUpdate.GONE:
            return RecordRejected("the record no longer exists", status=404, code="Internal_RecordNotFound")
        return RecordRejected(
            "Another user has already changed the record (the answer to our update was lost, "
            "and the record now differs from both what we read and what we sent).",
            status=409,
            code="Request_EntityChanged",
        )


def lost_update(
    current: Mapping[str, Any] | None, changes: Mapping[str, Any], sent_etag: str | None
) -> LostUpdate:
    if current is None:
        return LostUpdate.GONE
    if all(current.get(name) == value for name, value in changes.items()):
        return LostUpdate.APPLIED
    if sent_etag == "*" or current.get("@odata.etag") == sent_etag:
        return LostUpdate.NOT_APPLIED
    return LostUpdate.CHANGED


def _etag(etag: str) -> str:
    if not etag:
        raise ConfigurationError("BC needs If-Match: pass the entity's @odata.etag, or '*' to overwrite")
    return etag
