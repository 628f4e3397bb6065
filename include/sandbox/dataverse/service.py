"""The Web API's routes as plain request → response functions, independent of the web framework.

Single HTTP requests and each part of a `$batch` go through `DataverseService`; change sets pass one
shared unit of work and their Content-ID references, so every route works the same inside a batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.dataverse import bulk, definitions, delta, listing, metadata
from sandbox.dataverse.catalog import Catalog
from sandbox.dataverse.errors import (
    JSON_TYPE,
    DataverseError,
    bad_request,
    error_body,
    from_storage,
    segment_not_found,
    unknown_property,
    version_mismatch,
)
from sandbox.dataverse.queries import (
    COUNT_LIMIT,
    TOTAL_COUNT,
    TOTAL_COUNT_EXCEEDED,
    QueryOptions,
    QueryReader,
    context_url,
    next_link,
)
from sandbox.dataverse.records import Annotator, dumps, entity, etag, parse_etag, selected_columns
from sandbox.dataverse.resources import API_PREFIX, KeyPredicate, Segment, locate, parse_segments
from sandbox.dataverse.users import (
    CALLER_OBJECT_ID,
    MSCRM_CALLER_ID,
    application_user,
    impersonated_user,
    organization_id,
    root_business_unit,
)
from sandbox.dataverse.writes import RecordWriter
from sandbox.odata import ODataError, Preferences, decode_skiptoken, encode_skiptoken, parse_prefer
from sandbox.odata.payload import unpaired_surrogate
from sandbox.storage.database import VERSION_COLUMN
from sandbox.storage.errors import StorageError
from sandbox.storage.repository import Repository, Row, UnitOfWork
from sandbox.storage.schema import Attribute, AttributeType, EntitySchema

ACTION_PREFIX = "Microsoft.Dynamics.CRM."
DOP_HINT = "4"  # x-ms-dop-hint: the parallelism Dataverse recommends to a client
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
}


@dataclass
class ApiRequest:
    """One Web API request; `path` is the resource path after `/api/data/v9.2/`."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names; repeats joined by ", "
    body: bytes = b""
    app_id: str | None = None
    actor: str | None = None  # the caller's systemuserid, when already resolved (batch parts)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        if not self.body.strip():
            raise bad_request("The request body is empty; a JSON object is expected.")
        try:
            document = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise bad_request(f"The request body is not valid JSON: {error}.") from None
        if (surrogate := unpaired_surrogate(document)) is not None:
            raise bad_request(f"The request body is not valid JSON: {surrogate}.")
        return document


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, document: Any, headers: Mapping[str, str] | None = None) -> ApiResponse:
        return cls(
            status, {"Content-Type": JSON_TYPE, "OData-Version": "4.0", **(headers or {})}, dumps(document)
        )

    @classmethod
    def error(cls, error: DataverseError) -> ApiResponse:
        headers = {"Content-Type": JSON_TYPE, "OData-Version": "4.0", **error.headers}
        return cls(error.status, headers, error_body(error.code, error.message))


@dataclass
class Call:
    """What a route needs: the request, its unit of work, and the caller's writer."""

    request: ApiRequest
    work: UnitOfWork
    references: dict[str, str]
    preferences: Preferences
    options: QueryOptions

    _writer: RecordWriter | None = None


Handler = Callable[[Call], ApiResponse]

# BulkDelete is an asynchronous job in Dataverse (it answers a JobId; a system job deletes later).
UNIMPLEMENTED_ACTIONS = ("BulkDelete",)


def _not_supported_action(name: str) -> ApiResponse:
    raise DataverseError(501, "0x8004800d", f"The message {name} is not supported by the sandbox.")


class DataverseService:
    def __init__(self, catalog: Catalog, repository: Repository, base_url: str) -> None:
        self.catalog = catalog
        self.repository = repository
        self.base_url = base_url.rstrip("/")
        self.api_root = f"{self.base_url}{API_PREFIX}/"
        self._actors: dict[str, str] = {}  # app id -> systemuserid of its application user

    # -- entry points -------------------------------------------------------------------------

    def handle(self, request: ApiRequest) -> ApiResponse:
        """One request in its own transaction (read-only for reads)."""
        try:
            handler, writes = self.route(request, {})
            with self.repository.unit_of_work(read_only=not writes) as work:
                return self._run(handler, self._call(request, work, {}))
        except DataverseError as error:
            return ApiResponse.error(error)

    def execute(self, request: ApiRequest, work: UnitOfWork, references: dict[str, str]) -> ApiResponse:
        """One request of a change set inside its shared unit of work; raises DataverseError."""
        handler, _ = self.route(request, references)
        return self._run(handler, self._call(request, work, references))

    @staticmethod
    def _run(handler: Handler, call: Call) -> ApiResponse:
        try:
            return handler(call)
        except StorageError as error:
            # Storage errors not already translated with their table (a key value of the wrong type).
            raise from_storage(error, "", {}) from None

    def _call(self, request: ApiRequest, work: UnitOfWork, references: dict[str, str]) -> Call:
        prefer = request.header("prefer")
        try:
            preferences = parse_prefer(prefer)
        except ODataError as error:
            raise bad_request(error.message) from None
        custom = ("annotations",) if request.path.strip("/") == "$metadata" else ()
        return Call(request, work, references, preferences, QueryOptions.from_pairs(request.query, custom))

    # -- routing ------------------------------------------------------------------------------

    def route(self, request: ApiRequest, references: Mapping[str, str]) -> tuple[Handler, bool]:
        """The handler for a request and whether it writes."""
        path = request.path
        if path.startswith("$") and path.split("/")[0] in references:
            head, _, rest = path.partition("/")
            path = references[head] + (f"/{rest}" if rest else "")
        segments = parse_segments(path)
        method = request.method.upper()
        if not segments:
            return self._only(method, "GET", self.service_document), False
        first = segments[0]
        if len(segments) == 1 and first.key is None and first.name == "$metadata":
            return self._only(method, "GET", self.metadata_document), False
        if first.name == "WhoAmI" and first.key is None and len(segments) == 1:
            return self._only(method, "GET", self.who_am_i), True
        if first.name == "EntityDefinitions":
            return self._only(method, "GET", lambda call: self.entity_definitions(call, segments)), False
        if first.name in UNIMPLEMENTED_ACTIONS and first.key is None and len(segments) == 1:
            # Real unbound actions the sandbox does not run: say so rather than 404 like a wrong URL.
            name = first.name
            return self._only(method, "POST", lambda call: _not_supported_action(name)), False
        if first.name == "sdkmessagefilters" and len(segments) == 1:
            return self._only(method, "GET", self.message_filters), False
        if first.name.startswith("$") and first.name not in ("$metadata", "$batch"):
            raise bad_request(f"Content-ID Reference: '{first.name}' does not exist in the batch context.")
        schema = self.catalog.entity_set(first.name)
        if first.key is None:
            return self._collection_route(method, schema, segments[1:])
        return self._entity_route(method, schema, first.key, segments[1:])

    def _collection_route(
        self, method: str, schema: EntitySchema, rest: list[Segment]
    ) -> tuple[Handler, bool]:
        if not rest:
            if method == "GET":
                return (lambda call: self.read_collection(call, schema)), False
            if method == "POST":
                return (lambda call: self.create(call, schema)), True
            raise self._method_not_allowed(method)
        if len(rest) == 1 and rest[0].name == "$count" and rest[0].key is None:
            return self._only(method, "GET", lambda call: self.count(call, schema)), False
        if len(rest) == 1 and rest[0].name.startswith(ACTION_PREFIX) and rest[0].key is None:
            message = rest[0].name[len(ACTION_PREFIX) :]
            if message in bulk.MESSAGES:
                return self._only(method, "POST", lambda call: self.bulk(call, schema, message)), True
        raise segment_not_found(rest[0].name)

    def _entity_route(
        self, method: str, schema: EntitySchema, key: KeyPredicate, rest: list[Segment]
    ) -> tuple[Handler, bool]:
        if not rest:
            if method == "GET":
                return (lambda call: self.read_entity(call, schema, key)), False
            if method == "PATCH":
                return (lambda call: self.patch(call, schema, key)), True
            if method == "DELETE":
                return (lambda call: self.delete(call, schema, key)), True
            raise self._method_not_allowed(method)
        if len(rest) == 1 and rest[0].key is None and method == "GET":
            return (lambda call: self.read_property(call, schema, key, rest[0].name)), False
        if len(rest) == 1 and rest[0].key is None and schema.attribute(rest[0].name) is not None:
            raise DataverseError(
                501,
                "0x8004800d",
                f"{method} on the single property '{rest[0].name}' is not supported by the sandbox.",
            )
        raise segment_not_found(rest[0].name)

    @staticmethod
    def _only(method: str, allowed: str, handler: Handler) -> Handler:
        if method != allowed:
            raise DataverseService._method_not_allowed(method)
        return handler

    @staticmethod
    def _method_not_allowed(method: str) -> DataverseError:
        return DataverseError(
            405, "0x80060888", f"The HTTP method '{method}' is not allowed for this resource."
        )

    # -- service-level resources --------------------------------------------------------------

    def service_document(self, call: Call) -> ApiResponse:
        names = [schema.set_name for schema in self.catalog.schemas] + [
            "EntityDefinitions",
            "sdkmessagefilters",
        ]
        value = [{"name": name, "kind": "EntitySet", "url": name} for name in names]
        return ApiResponse.json(200, {"@odata.context": f"{self.api_root}$metadata", "value": value})

    def metadata_document(self, call: Call) -> ApiResponse:
        annotations = any(name == "annotations" and value == "true" for name, value in call.request.query)
        body = metadata.csdl(self.catalog, annotations=annotations).encode()
        return ApiResponse(200, {"Content-Type": "application/xml", "OData-Version": "4.0"}, body)

    def who_am_i(self, call: Call) -> ApiResponse:
        user = self.actor(call)
        document = {
            "@odata.context": f"{self.api_root}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": root_business_unit(call.work, self.catalog),
            "UserId": user,
            "OrganizationId": organization_id(self.base_url),
        }
        return ApiResponse.json(200, document, {"x-ms-dop-hint": DOP_HINT})

    def message_filters(self, call: Call) -> ApiResponse:
        rows = listing.message_filters(self.catalog.schemas)
        rows = listing.filtered(rows, listing.message_filter_query(call.options.get("$filter")))
        select = call.options.get("$select")
        value = [listing.selected(row, select, always=("sdkmessagefilterid",)) for row in rows]
        for row in value:
            row.pop(listing.MESSAGE_NAME, None)
        return ApiResponse.json(
            200, {"@odata.context": f"{self.api_root}$metadata#sdkmessagefilters", "value": value}
        )

    def entity_definitions(self, call: Call, segments: list[Segment]) -> ApiResponse:
        document = definitions.read(self.catalog, segments, call.options, f"{self.api_root}$metadata#")
        return ApiResponse.json(200, document)

    # -- reads --------------------------------------------------------------------------------

    def reader(self, call: Call) -> QueryReader:
        return QueryReader(self.catalog, call.work, self.repository.table)

    def annotator(self, call: Call) -> Annotator | None:
        if not call.preferences.include_annotations:
            return None
        return Annotator(
            call.preferences.wants_annotation,
            lambda attribute, value: self._lookup_table(call.work, attribute, value),
        )

    def _lookup_table(self, work: UnitOfWork, attribute: Attribute, value: str) -> str | None:
        targets = sorted(set(attribute.targets.values()))
        if len(targets) == 1:
            return targets[0]
        for logical_name in targets:
            schema = self.catalog.by_logical_name.get(logical_name)
            if schema is not None and work.get(schema, value) is not None:
                return logical_name
        return None

    def read_collection(self, call: Call, schema: EntitySchema) -> ApiResponse:
        options = call.options
        if options.get("$deltatoken") is not None:
            return self.read_changes(call, schema)
        tracking = call.preferences.track_changes
        if tracking:
            delta.check_tracking_options(schema, options.values)
        reader = self.reader(call)
        query = reader.parse(schema, options)
        after, start_version = self._position(
            schema, options.get("$skiptoken"), len(query.order_by) + 1, tracking
        )
        if tracking and start_version is None:
            # Read together with the first page, so changes made while paging show up in the delta.
            start_version = call.work.current_version()
        rows, position = reader.page(schema, query, call.preferences, after)
        document: dict[str, Any] = {
            "@odata.context": context_url(self.api_root, schema.set_name, query.select, query.expand)
        }
        applied = []
        if call.preferences.max_page_size is not None:
            applied.append(f"odata.maxpagesize={call.preferences.max_page_size}")
        if options.get("$count") == "true":
            total = reader.count(schema, query.where)
            document["@odata.count"] = min(total, COUNT_LIMIT)
            if call.preferences.wants_annotation(TOTAL_COUNT):
                document[f"@{TOTAL_COUNT}"] = min(total, COUNT_LIMIT)
            if call.preferences.wants_annotation(TOTAL_COUNT_EXCEEDED):
                document[f"@{TOTAL_COUNT_EXCEEDED}"] = total > COUNT_LIMIT
        annotator = self.annotator(call)
        if annotator is not None:
            applied.append(f'odata.include-annotations="{",".join(call.preferences.include_annotations)}"')
        document["value"] = reader.render(schema, rows, query.select, query.expand, annotator)
        if tracking:
            applied.append("odata.track-changes")
        if position is not None:
            carried = [*position, start_version] if tracking else position
            token = encode_skiptoken(carried)
            document["@odata.nextLink"] = next_link(
                self.api_root, schema.set_name, call.request.query, "$skiptoken", token
            )
        elif tracking:
            token = delta.issue_token(start_version or 0)
            document["@odata.deltaLink"] = next_link(
                self.api_root, schema.set_name, call.request.query, "$deltatoken", token
            )
        headers = {"Preference-Applied": ",".join(applied)} if applied else {}
        return ApiResponse.json(200, document, headers)

    def _position(
        self, schema: EntitySchema, token: str | None, length: int, tracking: bool
    ) -> tuple[list[Any] | None, int | None]:
        """The keyset position in a skip token and, when tracking changes, the delta start version."""
        if token is None:
            return None, None
        try:
            values = decode_skiptoken(token)
        except ODataError as error:
            raise bad_request(error.message) from None
        if len(values) != length + (1 if tracking else 0):
            raise bad_request("The $skiptoken does not belong to this query; request the first page again.")
        if tracking:
            return values[:-1], int(values[-1])
        return values, None

    def read_changes(self, call: Call, schema: EntitySchema) -> ApiResponse:
        delta.check_tracking_options(schema, call.options.values)
        version = delta.read_token(call.options.get("$deltatoken") or "", call.work.current_version())
        changed, deleted, current = call.work.changes_since(schema, version)
        reader = self.reader(call)
        select = reader.parse_select(schema, call.options.get("$select"))
        value = reader.render(schema, changed, select, (), self.annotator(call))
        value += [delta.deleted_entity(self.api_root, schema.set_name, key) for key in deleted]
        context = context_url(self.api_root, schema.set_name, select, ()) + "/$delta"
        link = next_link(
            self.api_root, schema.set_name, call.request.query, "$deltatoken", delta.issue_token(current)
        )
        document = {"@odata.context": context, "value": value, "@odata.deltaLink": link}
        return ApiResponse.json(200, document, {"Preference-Applied": "odata.track-changes"})

    def count(self, call: Call, schema: EntitySchema) -> ApiResponse:
        token = call.options.get("$deltatoken")
        if token is not None:
            version = delta.read_token(token, call.work.current_version())
            changed, deleted, _ = call.work.changes_since(schema, version)
            total = len(changed) + len(deleted)
        else:
            reader = self.reader(call)
            total = min(reader.count(schema, reader.where(schema, call.options.get("$filter"))), COUNT_LIMIT)
        return ApiResponse(200, {"Content-Type": "text/plain", "OData-Version": "4.0"}, str(total).encode())

    def read_entity(self, call: Call, schema: EntitySchema, key: KeyPredicate) -> ApiResponse:
        row = locate(call.work, schema, key)
        assert row is not None
        reader = self.reader(call)
        query = reader.parse(schema, call.options)
        if_none_match = call.request.header("if-none-match")
        unchanged = if_none_match is not None and parse_etag(if_none_match) == row[VERSION_COLUMN]
        if unchanged and not query.expand and not call.preferences.include_annotations:
            return ApiResponse(304, {"ETag": etag(row[VERSION_COLUMN]), "OData-Version": "4.0"})
        document = reader.render(schema, [row], query.select, query.expand, self.annotator(call))[0]
        context = context_url(self.api_root, schema.set_name, query.select, query.expand) + "/$entity"
        return ApiResponse.json(
            200, {"@odata.context": context, **document}, {"ETag": document["@odata.etag"]}
        )

    def read_property(self, call: Call, schema: EntitySchema, key: KeyPredicate, name: str) -> ApiResponse:
        row = locate(call.work, schema, key)
        assert row is not None
        navigation = self.catalog.navigation(schema, name)
        if navigation is not None and not navigation.collection:
            target_key = row[navigation.attribute.column]
            target = call.work.get(navigation.target, target_key) if target_key else None
            if target is None:
                return ApiResponse(204, {"OData-Version": "4.0"})
            document = entity(navigation.target, target, selected_columns(navigation.target, None))
            context = f"{self.api_root}$metadata#{navigation.target.set_name}/$entity"
            return ApiResponse.json(200, {"@odata.context": context, **document})
        attribute = schema.attribute(name)
        if attribute is None or (attribute.type is AttributeType.LOOKUP and name != attribute.column):
            raise unknown_property(name, schema.logical_name)
        value = entity(schema, row, frozenset({attribute.column}))[attribute.column]
        context = f"{self.api_root}$metadata#{schema.set_name}({row[schema.key]})/{name}"
        return ApiResponse.json(200, {"@odata.context": context, "value": value})

    # -- writes -------------------------------------------------------------------------------

    def actor(self, call: Call) -> str:
        if call.request.actor is not None:
            return call.request.actor
        return self.caller(call.work, call.request)

    def caller(self, work: UnitOfWork, request: ApiRequest) -> str:
        """The user a request acts as: its application user, or the user it impersonates."""
        user = self.application_user(work, request.app_id)
        impersonated = impersonated_user(
            work, self.catalog, request.header(CALLER_OBJECT_ID), request.header(MSCRM_CALLER_ID)
        )
        return impersonated or user

    def application_user(self, work: UnitOfWork, app_id: str | None) -> str:
        """The caller's systemuserid; remembered per app id, re-checked with one key lookup."""
        if not app_id:
            raise DataverseError(401, "0x8004a100", "The request has no authenticated caller.")
        users = self.catalog.by_logical_name["systemuser"]
        cached = self._actors.get(app_id)
        if cached is not None and work.get(users, cached) is not None:
            return cached
        self._actors[app_id] = user = application_user(work, self.catalog, app_id)
        return user

    def writer(self, call: Call) -> RecordWriter:
        if call._writer is None:
            call._writer = RecordWriter(
                self.catalog, call.work, self.actor(call), self.repository.table, call.references
            )
        return call._writer

    def entity_url(self, schema: EntitySchema, key: str) -> str:
        return f"{self.api_root}{schema.set_name}({key})"

    def create(self, call: Call, schema: EntitySchema) -> ApiResponse:
        writer = self.writer(call)
        row = writer.create(schema, writer.values_from_body(schema, call.request.json()))
        return self._written(call, schema, row, created=True, entity_id_header=True)

    def create_together(self, requests: list[ApiRequest]) -> list[ApiResponse] | None:
        """Plain POST creates to one entity set, as one transaction and one multi-row insert.

        Answers exactly what the creates give one by one when all succeed; None (nothing written)
        when any fails, so the caller can run them one by one for their individual answers.
        """
        schema = self.catalog.by_set.get(requests[0].path)
        if schema is None:
            return None
        try:
            with self.repository.unit_of_work() as work:
                call = self._call(requests[0], work, {})
                writer = self.writer(call)
                rows = [writer.values_from_body(schema, request.json()) for request in requests]
                created = writer.create_many(schema, rows)
        except DataverseError:
            return None
        headers = {"OData-Version": "4.0"}
        return [
            ApiResponse(
                204,
                {
                    **headers,
                    "ETag": etag(row[VERSION_COLUMN]),
                    "OData-EntityId": self.entity_url(schema, row[schema.key]),
                },
            )
            for row in created
        ]

    def patch(self, call: Call, schema: EntitySchema, key: KeyPredicate) -> ApiResponse:
        writer = self.writer(call)
        values = writer.values_from_body(schema, call.request.json())
        result = writer.upsert(
            schema,
            key,
            values,
            if_match=call.request.header("if-match"),
            if_none_match=call.request.header("if-none-match"),
        )
        return self._written(
            call, schema, result.row, created=result.created, entity_id_header=True, update=True
        )

    def _written(
        self,
        call: Call,
        schema: EntitySchema,
        row: Row,
        *,
        created: bool,
        entity_id_header: bool,
        update: bool = False,
    ) -> ApiResponse:
        url = self.entity_url(schema, row[schema.key])
        if call.preferences.return_representation:
            reader = self.reader(call)
            query = reader.parse(schema, call.options)
            expand = () if update else query.expand  # PATCH ignores $expand
            document = reader.render(schema, [row], query.select, expand, self.annotator(call))[0]
            context = context_url(self.api_root, schema.set_name, query.select, expand) + "/$entity"
            status = 201 if created else 200
            return ApiResponse.json(
                status,
                {"@odata.context": context, **document},
                {"Preference-Applied": "return=representation", "ETag": document["@odata.etag"]},
            )
        headers = {"OData-Version": "4.0", "ETag": etag(row[VERSION_COLUMN])}
        if entity_id_header:
            headers["OData-EntityId"] = url
        return ApiResponse(204, headers)

    def delete(self, call: Call, schema: EntitySchema, key: KeyPredicate) -> ApiResponse:
        writer = self.writer(call)
        row = locate(call.work, schema, key)
        assert row is not None
        expected = None
        if_match = call.request.header("if-match")
        if if_match is not None and if_match.strip() != "*":
            expected = parse_etag(if_match)
            if expected is None or expected != row[VERSION_COLUMN]:
                raise version_mismatch()
        writer.delete(schema, row, expected)
        return ApiResponse(204, {"OData-Version": "4.0"})

    def bulk(self, call: Call, schema: EntitySchema, message: str) -> ApiResponse:
        if not schema.bulk_messages:
            raise bulk.unsupported(message, schema)
        writer = self.writer(call)
        body = call.request.json()
        if message == "CreateMultiple":
            ids = bulk.create_multiple(writer, schema, body)
            context = f"{self.api_root}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
            return ApiResponse.json(200, {"@odata.context": context, "Ids": ids})
        if message == "UpdateMultiple":
            bulk.update_multiple(writer, schema, body)
        else:
            bulk.upsert_multiple(writer, schema, body)
        return ApiResponse(204, {"OData-Version": "4.0"})
