"""`DataverseHook`: the Dataverse Web API (Dynamics 365 Sales) for bcsync's extract and load tasks.

Reads page by page or through change tracking; writes one record, or many with bulk messages
(CreateMultiple/UpdateMultiple/UpsertMultiple) and multipart `$batch` where a record must fail alone.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bcsync.hooks.odata_service import ODataServiceHook
from bcsync.provider import ui_field_behaviour
from bcsync.wire import odata
from bcsync.wire.batch import (
    CONTINUE_ON_ERROR,
    BatchOperation,
    BatchPartResponse,
    decode_multipart,
    encode_multipart,
)
from bcsync.wire.errors import (
    ConfigurationError,
    RecordRejected,
    TransientServiceError,
    UnexpectedResponse,
)
from bcsync.wire.odata import Filter
from bcsync.wire.paging import ODataPager
from bcsync.wire.writes import (
    Operation,
    WriteResult,
    check_operation,
    part_outcome,
    settle_batch,
)

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 5000
MAX_BATCH_OPERATIONS = 1000
BULK_MESSAGES = {"create": "CreateMultiple", "update": "UpdateMultiple", "upsert": "UpsertMultiple"}
_GUID_IN_URL = re.compile(
    r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)"
)


@dataclass(frozen=True)
class ChangePage:
    """One page of a change-tracking read: new/changed rows and the ids of deleted rows."""

    changed: list[dict[str, Any]]
    deleted_ids: list[str]


@dataclass
class ChangeFeed:
    """Iterate once over `ChangePage`s; afterwards `delta_link` is the cursor for the next read."""

    _pager: ODataPager
    _first_url: str
    _delta_link: str | None = field(default=None, init=False)
    _consumed: bool = field(default=False, init=False)

    def __iter__(self) -> Iterator[ChangePage]:
        if self._consumed:
            raise RuntimeError("a ChangeFeed can be read once; call track_changes again with its delta_link")
        self._consumed = True
        for page in self._pager.pages(self._first_url):
            changed, deleted = [], []
            for row in page.records:
                if _is_deleted_entity(row):
                    deleted.append(str(row["id"]))
                else:
                    changed.append(row)
            if page.delta_link:
                self._delta_link = page.delta_link
            yield ChangePage(changed=changed, deleted_ids=deleted)

    @property
    def delta_link(self) -> str:
        if self._delta_link is None:
            raise RuntimeError("delta_link is known only after every page was read")
        return self._delta_link


def _is_deleted_entity(row: Mapping[str, Any]) -> bool:
    context = str(row.get("@odata.context", ""))
    return context.endswith("$deletedEntity") or (row.get("reason") == "deleted" and "id" in row)


class DataverseHook(ODataServiceHook):
    """Interact with the Dataverse Web API of one environment.

    Connection: host = environment URL (`https://ORG.crm.dynamics.com`), login = client id,
    password = client secret; extras `tenant_id` (required), `authority`, `scope`
    (default `<host>/.default`), `api_version` (v9.2), `ca_bundle`, `page_size` (≤5000), `timeout`,
    `max_retries`, `max_concurrency` (default 4). See docs/connections.md.

    :param dataverse_conn_id: the Airflow Connection id (default `dataverse_default`).
    :param connection, adapter, sleep, max_in_flight, method: see `ODataServiceHook`.
    """

    conn_name_attr = "dataverse_conn_id"
    default_conn_name = "dataverse_default"
    conn_type = "dataverse"
    hook_name = "Microsoft Dataverse (Dynamics 365 Sales)"
    max_page_size = MAX_PAGE_SIZE
    default_page_size = MAX_PAGE_SIZE

    def __init__(self, dataverse_conn_id: str = default_conn_name, **options: Any) -> None:
        super().__init__(dataverse_conn_id, **options)
        self._bulk_support: dict[tuple[str, str], bool] = {}
        self._bulk_lock = threading.Lock()

    @classmethod
    def default_scope(cls, base_url: str) -> str:
        return f"{base_url}/.default"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form's standard fields (declared once, in `bcsync.provider`)."""
        return ui_field_behaviour(cls.conn_type)

    def service_root(self) -> str:
        version = str(self.settings.extra.get("api_version") or "v9.2")
        return f"{self.settings.base_url}/api/data/{version}/"

    # -- reads -------------------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """`{"UserId", "BusinessUnitId", "OrganizationId"}`: proves URL, TLS trust and token all work."""
        return self.get_conn().get_json("WhoAmI")

    def check_connection(self) -> str:
        """WhoAmI answers: the application user exists in this environment."""
        me = self.whoami()
        return f"Connected as user {me.get('UserId')} of organization {me.get('OrganizationId')}"

    def iter_pages(
        self,
        entity_set: str,
        *,
        select: Iterable[str],
        filter: Filter | str | None = None,
        orderby: Iterable[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Rows of `entity_set`, one page (list of dicts) at a time; `select` is required."""
        yield from self._query_pages(
            odata.property_name(entity_set),
            select=select,
            filter=filter,
            orderby=orderby,
            page_size=page_size,
        )

    def get(
        self, entity_set: str, key: str | Mapping[str, Any], *, select: Iterable[str]
    ) -> dict[str, Any] | None:
        """One row by primary key (GUID) or alternate key (`{"accountnumber": "X"}`); None if missing."""
        return self._get_or_none(
            f"{self._entity_url(entity_set, key)}?{odata.encode_query({'$select': odata.select(select)})}"
        )

    def track_changes(
        self,
        entity_set: str,
        *,
        select: Iterable[str],
        delta_link: str | None = None,
        page_size: int | None = None,
    ) -> ChangeFeed:
        """Rows changed (and ids deleted) since `delta_link`, or every row plus a first link when None."""
        url = delta_link or (
            f"{odata.property_name(entity_set)}?{odata.encode_query({'$select': odata.select(select)})}"
        )
        return ChangeFeed(self._pager(page_size, prefer=("odata.track-changes",)), url)

    # -- single-record writes ------------------------------------------------------------------------

    def create(
        self, entity_set: str, record: Mapping[str, Any], *, return_representation: bool = False
    ) -> Any:
        """Create a row; a primary key in `record` is used as the new row's id (client-chosen keys).

        Returns the new id, or with `return_representation=True` the created row (with `@odata.etag`).
        """
        headers = {"Prefer": "return=representation"} if return_representation else {}
        response = self.get_conn().request(
            "POST", odata.property_name(entity_set), json=dict(record), headers=headers
        )
        if return_representation:
            return self.get_conn().decode(response)
        return _id_from_entity_url(response.headers.get("OData-EntityId", ""))

    def update(
        self,
        entity_set: str,
        key: str | Mapping[str, Any],
        changes: Mapping[str, Any],
        *,
        if_match: str | None = "*",
    ) -> None:
        """Update columns of an existing row; `if_match` an ETag (412 if stale) or `*` (404 if missing)."""
        headers = {"If-Match": if_match} if if_match else {}
        self.get_conn().request(
            "PATCH", self._entity_url(entity_set, key), json=dict(changes), headers=headers
        )

    def upsert(
        self,
        entity_set: str,
        key: str | Mapping[str, Any],
        record: Mapping[str, Any],
        *,
        create_only: bool = False,
    ) -> str | None:
        """Create or update the row at `key`; `create_only` refuses an existing row (412). Returns its id."""
        headers = {"If-None-Match": "*"} if create_only else {}
        response = self.get_conn().request(
            "PATCH", self._entity_url(entity_set, key), json=dict(record), headers=headers
        )
        return _id_from_entity_url(response.headers.get("OData-EntityId", "")) or _guid_or_none(key)

    def delete(self, entity_set: str, key: str | Mapping[str, Any], *, if_match: str | None = None) -> None:
        """Delete a row (404 → RecordRejected); `if_match` makes it conditional on an ETag."""
        headers = {"If-Match": if_match} if if_match else {}
        self.get_conn().request("DELETE", self._entity_url(entity_set, key), headers=headers)

    # -- bulk writes ---------------------------------------------------------------------------------

    def write_many(
        self,
        entity_set: str,
        logical_name: str,
        records: Sequence[Mapping[str, Any]],
        operation: Operation = "create",
        *,
        batch_size: int = 500,
        primary_key: str | None = None,
        alternate_key: Sequence[str] | None = None,
    ) -> list[WriteResult]:
        """Write many rows of one table; one `WriteResult` per record, in input order.

        Uses the table's bulk message when `sdkmessagefilters` says it has one, else multipart `$batch`
        with `odata.continue-on-error`. A bulk request is all-or-nothing, so when one fails the same
        records are resent as a `$batch`: a bad record fails alone and the others are written.

        :param operation: `create`, `update` (records carry the primary key), `upsert` (by primary key,
            or by `alternate_key` columns), or `delete` (records carry the primary key).
        :param batch_size: records per request (≤1000).
        :param primary_key: the primary key column; default `<logical_name>id`.
        """
        check_operation(operation, ("create", "update", "upsert", "delete"))
        plan = _WritePlan(
            entity_set=odata.property_name(entity_set),
            logical_name=odata.property_name(logical_name),
            operation=operation,
            primary_key=primary_key or f"{logical_name}id",
            alternate_key=tuple(alternate_key or ()),
        )
        if operation in ("update", "delete") and plan.alternate_key:
            raise ConfigurationError(f"{operation} by alternate key is not supported; give primary keys")
        for index, record in enumerate(records):
            plan.identity(index, record)  # fail before any request when a key is missing
        if not records:
            return []
        bulk = operation != "delete" and self.supports_bulk(logical_name, operation)
        send = self._bulk_chunk if bulk else self._batch_chunk
        return self._write_in_pieces(
            records, lambda piece: send(plan, *piece), batch_size=batch_size, limit=MAX_BATCH_OPERATIONS
        )

    def known_bulk_support(self) -> dict[tuple[str, str], bool]:
        """What this hook has learned so far: (table, bulk message) → whether the table has it."""
        with self._bulk_lock:
            return dict(self._bulk_support)

    def assume_bulk_support(self, known: Mapping[tuple[str, str], bool]) -> None:
        """Take answers learned earlier (by another task of the same run) instead of asking again."""
        with self._bulk_lock:
            for key, supported in known.items():
                self._bulk_support.setdefault(key, supported)

    def supports_bulk(self, logical_name: str, operation: str) -> bool:
        """Whether the table has the bulk message for `operation` (asked once per table and message)."""
        if operation == "upsert":  # the filters list no UpsertMultiple: it comes with Create+Update
            return self.supports_bulk(logical_name, "create") and self.supports_bulk(logical_name, "update")
        message = BULK_MESSAGES[operation]
        with self._bulk_lock:
            cached = self._bulk_support.get((logical_name, message))
        if cached is not None:
            return cached
        where = odata.eq("sdkmessageid/name", message) & odata.eq("primaryobjecttypecode", logical_name)
        query = odata.encode_query({"$select": "sdkmessagefilterid", "$filter": str(where)})
        try:
            supported = bool(self.get_conn().get_json(f"sdkmessagefilters?{query}").get("value"))
        except RecordRejected as rejection:
            log.warning(
                "cannot tell whether %s supports %s (%s); using $batch", logical_name, message, rejection
            )
            supported = False
        with self._bulk_lock:
            self._bulk_support[(logical_name, message)] = supported
        return supported

    def _bulk_chunk(
        self, plan: _WritePlan, offset: int, records: Sequence[Mapping[str, Any]]
    ) -> list[WriteResult]:
        message = BULK_MESSAGES[plan.operation]
        targets = [plan.bulk_target(record) for record in records]
        try:
            response = self.get_conn().request(
                "POST",
                f"{plan.entity_set}/Microsoft.Dynamics.CRM.{message}",
                json={"Targets": targets},
                # Upserts and updates address rows by key: sending them twice changes nothing more.
                resend_safe=plan.operation != "create",
            )
        except RecordRejected as rejection:
            if rejection.status == 413 and len(records) > 1:
                half = len(records) // 2
                return self._bulk_chunk(plan, offset, records[:half]) + self._bulk_chunk(
                    plan, offset + half, records[half:]
                )
            # All-or-nothing: resend as $batch so each record gets its own status.
            log.info(
                "%s of %d %s rows refused as a whole (%s); resending as $batch",
                message,
                len(records),
                plan.logical_name,
                rejection,
            )
            return self._batch_chunk(plan, offset, records)
        ids = self.get_conn().decode(response).get("Ids") if plan.operation == "create" else None
        if ids is not None and len(ids) != len(records):
            raise UnexpectedResponse(f"{message} returned {len(ids)} ids for {len(records)} records")
        return [
            WriteResult(index=offset + i, id=str(ids[i]) if ids else plan.known_id(record))
            for i, record in enumerate(records)
        ]

    def _batch_chunk(
        self, plan: _WritePlan, offset: int, records: Sequence[Mapping[str, Any]]
    ) -> list[WriteResult]:
        root_path = urlsplit(self.service_root()).path
        operations = {offset + i: plan.batch_operation(root_path, record) for i, record in enumerate(records)}

        def outcome(index: int, part: BatchPartResponse) -> WriteResult | TransientServiceError:
            record = records[index - offset]
            entity_id = _id_from_entity_url(part.headers.get("odata-entityid", "")) or plan.known_id(record)
            return part_outcome(
                index, part, record_id=entity_id, label=plan.label(record), what=f"{plan.operation} record"
            )

        transport = self.get_conn()
        return settle_batch(operations, self._send_batch, outcome, retry=transport.retry, sleep=self._sleep)

    def _send_batch(self, operations: list[BatchOperation]) -> list[BatchPartResponse]:
        content_type, body = encode_multipart(operations)
        response = self.get_conn().request(
            "POST",
            "$batch",
            data=body,
            headers={"Content-Type": content_type, "Prefer": CONTINUE_ON_ERROR},
            resend_safe=all(operation.method != "POST" for operation in operations),
        )
        return decode_multipart(response.headers.get("Content-Type", ""), response.content)

    def _entity_url(self, entity_set: str, key: str | Mapping[str, Any]) -> str:
        return f"{odata.property_name(entity_set)}{odata.key_segment(key)}"


@dataclass(frozen=True)
class _WritePlan:
    """How each record of one `write_many` call becomes a bulk target or a `$batch` request."""

    entity_set: str
    logical_name: str
    operation: str
    primary_key: str
    alternate_key: tuple[str, ...]

    def identity(self, index: int, record: Mapping[str, Any]) -> str | dict[str, Any] | None:
        """The key that addresses `record` (None for a create without a client-chosen id)."""
        if self.alternate_key:
            missing = [column for column in self.alternate_key if record.get(column) in (None, "")]
            if missing:
                raise ConfigurationError(f"record {index} lacks alternate-key column(s) {missing}")
            return {column: record[column] for column in self.alternate_key}
        key = record.get(self.primary_key)
        if key in (None, "") and self.operation != "create":
            raise ConfigurationError(f"record {index} lacks the primary key {self.primary_key!r}")
        return str(key) if key not in (None, "") else None

    def known_id(self, record: Mapping[str, Any]) -> str | None:
        key = record.get(self.primary_key)
        return str(key) if key not in (None, "") else None

    def label(self, record: Mapping[str, Any]) -> str | None:
        key = self.identity(0, record)
        if isinstance(key, dict):
            return ",".join(f"{k}={v}" for k, v in key.items())
        return key

    def body(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Columns to send: key columns stay out of PATCH bodies (they are in the URL)."""
        if self.operation == "create":
            return dict(record)
        dropped = set(self.alternate_key) | {self.primary_key}
        return {name: value for name, value in record.items() if name not in dropped}

    def bulk_target(self, record: Mapping[str, Any]) -> dict[str, Any]:
        target = dict(record) if self.operation != "upsert" else self.body(record)
        if self.operation == "upsert":
            target["@odata.id"] = f"{self.entity_set}{odata.key_segment(self.identity(0, record))}"
            if not self.alternate_key:
                target[self.primary_key] = record[self.primary_key]
        target["@odata.type"] = f"Microsoft.Dynamics.CRM.{self.logical_name}"
        return target

    def batch_operation(self, root_path: str, record: Mapping[str, Any]) -> BatchOperation:
        collection = f"{root_path.rstrip('/')}/{self.entity_set}"
        if self.operation == "create":
            return BatchOperation("POST", collection, body=self.body(record))
        url = f"{collection}{odata.key_segment(self.identity(0, record))}"
        if self.operation == "delete":
            return BatchOperation("DELETE", url)
        headers = {"If-Match": "*"} if self.operation == "update" else {}
        return BatchOperation("PATCH", url, body=self.body(record), headers=headers)


def _id_from_entity_url(url: str) -> str | None:
    match = _GUID_IN_URL.search(url or "")
    return match.group(1).lower() if match else None


def _guid_or_none(key: str | Mapping[str, Any]) -> str | None:
    return key.lower() if isinstance(key, str) and _GUID_IN_URL.search(f"({key})") else None
