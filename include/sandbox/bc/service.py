"""One BC request, from URL to answer, independent of HTTP so `$batch` operations run the same code.

`BusinessCentral.handle` resolves the route, company and page, runs the read or write in a unit of
work (the caller's, for a snapshot batch) and returns an `Answer` with BC's status, headers and body.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sandbox.bc import tables as t
from sandbox.bc.errors import BCError, bad_request, error_body, method_not_allowed
from sandbox.bc.metadata import csdl
from sandbox.bc.pages import ApiPage, PageIndex
from sandbox.bc.reads import Reader, Scope, check_options, odata_error
from sandbox.bc.urls import (
    Resource,
    ServicePath,
    Target,
    company_from_query,
    parse_resource,
    parse_service_path,
)
from sandbox.bc.wire import entity, parse_body
from sandbox.bc.writes import Writer
from sandbox.context import ServiceContext
from sandbox.odata import ODataError, parse_prefer
from sandbox.storage.errors import DuplicateKey
from sandbox.storage.repository import UnitOfWork
from sandbox.storage.values import parse_guid

MAX_PAGE_SIZE = 20_000  # BC online's server page size, also the largest odata.maxpagesize allowed


@dataclass
class Call:
    """A request as the service sees it (an HTTP request or one `$batch` operation)."""

    method: str
    path: str  # /v2.0/{tenant}/{environment}/api/...
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes | dict[str, Any] | None = None
    actor: str | None = None


@dataclass
class Answer:
    status: int
    body: Any = None  # a JSON document, CSDL text, or None (204)
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(error: BCError) -> Answer:
    return Answer(error.status, error_body(error.code, error.message), dict(error.headers))


class BusinessCentral:
    """The local Business Central API over the shared repository."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.repository = context.repository
        self.settings = context.settings

    # -- entry point ---------------------------------------------------------------------------

    def handle(self, call: Call, work: UnitOfWork | None = None) -> Answer:
        try:
            return self._handle(call, work)
        except BCError as error:
            return error_answer(error)

    def _handle(self, call: Call, work: UnitOfWork | None) -> Answer:
        service = parse_service_path(call.path)
        self.check_environment(service)
        resource = parse_resource(service.pages, service.rest)
        if resource.target is Target.BATCH:
            raise bad_request("A $batch request cannot be nested inside another $batch request")
        if resource.target is Target.METADATA:
            self._only(call, "GET", "$metadata")
            return Answer(200, csdl(service.pages), {"content-type": "application/xml"})
        if resource.target is Target.SERVICE_DOCUMENT:
            self._only(call, "GET", service.pages.route.path)
            return Answer(200, self._service_document(service))
        check_options(call.query)
        read_only = call.method == "GET"
        scope = nullcontext(work) if work is not None else self.repository.unit_of_work(read_only=read_only)
        with scope as active:
            return self._on_resource(call, service, resource, active)

    def _on_resource(self, call: Call, service: ServicePath, resource: Resource, work: UnitOfWork) -> Answer:
        pages = service.pages
        context = self._context_url(service)
        if resource.target in (Target.COMPANIES, Target.COMPANY):
            self._only(call, "GET", "companies")
            return self._companies(call, pages, resource, work, context)
        page = resource.page
        assert page is not None
        company = self._company(work, resource.company or company_from_query(call.query.get("company")))
        scope = Scope(company, resource.parent_id)
        reader = Reader(work, pages, self.repository)
        if resource.parent_id is not None:
            parent = pages.page(page.parent or "")
            assert parent is not None
            reader.row(parent, Scope(company), resource.parent_id)
        set_context = f"{context}#companies({company})/{page.entity_set}"
        if resource.target is Target.ENTITY_SET:
            if call.method == "GET":
                return self._list(call, page, scope, reader, set_context, service)
            if call.method == "POST":
                row = Writer(work, pages, self.repository, call.actor).create(page, scope, self._body(call))
                return self._entity_answer(201, reader, page, scope, row, set_context, call)
            raise method_not_allowed(call.method, page.entity_set)
        key = resource.key
        assert key is not None
        if call.method == "GET":
            document = reader.one(page, scope, key, call.query)
            return Answer(
                200, {"@odata.context": f"{set_context}/$entity", **document}, self._etag_header(document)
            )
        if call.method == "PATCH":
            row = Writer(work, pages, self.repository, call.actor).update(
                page, scope, key, self._body(call), call.headers.get("if-match")
            )
            return self._entity_answer(200, reader, page, scope, row, set_context, call)
        if call.method == "DELETE":
            Writer(work, pages, self.repository, call.actor).delete(
                page, scope, key, call.headers.get("if-match")
            )
            return Answer(204)
        raise method_not_allowed(call.method, page.entity_set)

    # -- many creates at once ($batch) ----------------------------------------------------------

    def create_group(self, calls: list[Call], work: UnitOfWork) -> list[Answer] | None:
        """POSTs of one `$batch` to the same top-level entity set, inserted with one statement.

        Answers each call in order; validation stops at the first refused record, whose error answer
        ends the list (the records before it are still inserted, as if posted one by one). None when
        the insert hits a duplicate key: the caller then runs the calls one by one to tell which.
        """
        first = calls[0]
        service = parse_service_path(first.path)
        self.check_environment(service)
        resource = parse_resource(service.pages, service.rest)
        page = resource.page
        if resource.target is not Target.ENTITY_SET or page is None or page.parent is not None:
            raise ValueError("create_group takes POSTs to one top-level entity set")
        company = self._company(work, resource.company or company_from_query(first.query.get("company")))
        scope = Scope(company)
        writer = Writer(work, service.pages, self.repository, first.actor)
        prepared: list[dict[str, Any]] = []
        failure: Answer | None = None
        for call in calls:
            try:
                prepared.append(writer.prepare(page, scope, self._body(call)))
            except BCError as error:
                failure = error_answer(error)
                break
        try:
            rows = writer.create_many(page, scope, prepared)
        except DuplicateKey:
            return None
        set_context = f"{self._context_url(service)}#companies({company})/{page.entity_set}"
        reader = Reader(work, service.pages, self.repository)
        answers = [
            self._entity_answer(201, reader, page, scope, row, set_context, call)
            for row, call in zip(rows, calls, strict=False)
        ]
        return answers + ([failure] if failure is not None else [])

    # -- reads ---------------------------------------------------------------------------------

    def _list(
        self, call: Call, page: ApiPage, scope: Scope, reader: Reader, set_context: str, service: ServicePath
    ) -> Answer:
        try:
            preferences = parse_prefer(call.headers.get("prefer"))
        except ODataError as error:
            raise odata_error(error) from None
        page_size = MAX_PAGE_SIZE
        headers: dict[str, str] = {}
        if preferences.max_page_size is not None:
            if preferences.max_page_size > MAX_PAGE_SIZE:
                raise BCError(
                    413,
                    "Request_EntityTooLarge",
                    f"The requested page size {preferences.max_page_size} exceeds the maximum page size "
                    f"of {MAX_PAGE_SIZE}",
                )
            page_size = preferences.max_page_size
            headers["preference-applied"] = f"odata.maxpagesize={page_size}"
        listing = reader.list(page, scope, call.query, page_size)
        document: dict[str, Any] = {"@odata.context": set_context, "value": listing.entities}
        if listing.skiptoken is not None:
            query = {k: v for k, v in call.query.items() if k != "$skiptoken"}
            if listing.remaining_top is not None:
                query["$top"] = str(listing.remaining_top)
            query["$skiptoken"] = listing.skiptoken
            document["@odata.nextLink"] = f"{self.context.base_url}{call.path}?{urlencode(query)}"
        return Answer(200, document, headers)

    def _companies(
        self, call: Call, pages: PageIndex, resource: Resource, work: UnitOfWork, context: str
    ) -> Answer:
        page = pages.page("companies")
        assert page is not None
        if resource.target is Target.COMPANY:
            row = work.get(t.COMPANY, resource.key)
            if row is None:
                raise company_not_found(resource.key or "")
            return Answer(200, {"@odata.context": f"{context}#companies/$entity", **entity(page, row)})
        rows = work.query(t.COMPANY, order_by=[("name", False)])
        return Answer(
            200, {"@odata.context": f"{context}#companies", "value": [entity(page, r) for r in rows]}
        )

    # -- helpers -------------------------------------------------------------------------------

    def _entity_answer(
        self,
        status: int,
        reader: Reader,
        page: ApiPage,
        scope: Scope,
        row: dict[str, Any],
        set_context: str,
        call: Call,
    ) -> Answer:
        document = entity(page, row)
        if call.query.get("$expand"):
            document = reader.one(page, scope, row["id"], {"$expand": call.query["$expand"]})
        headers = self._etag_header(document)
        if status == 201:
            headers["location"] = f"{self.context.base_url}{call.path.rstrip('/')}({row['id']})"
        return Answer(status, {"@odata.context": f"{set_context}/$entity", **document}, headers)

    @staticmethod
    def _etag_header(document: dict[str, Any]) -> dict[str, str]:
        return {"etag": document["@odata.etag"]} if "@odata.etag" in document else {}

    @staticmethod
    def _body(call: Call) -> dict[str, Any]:
        if isinstance(call.body, dict):
            return call.body
        return parse_body(call.body or b"")

    @staticmethod
    def _only(call: Call, method: str, what: str) -> None:
        if call.method != method:
            raise method_not_allowed(call.method, what)

    def check_environment(self, service: ServicePath) -> None:
        if service.environment.lower() != self.settings.bc_environment.lower():
            raise BCError(
                404,
                "BadRequest_ResourceNotFound",
                f"The environment '{service.environment}' does not exist in this tenant",
            )
        if service.tenant is not None and service.tenant.lower() != self.settings.tenant_id.lower():
            raise BCError(
                404, "BadRequest_ResourceNotFound", f"The tenant '{service.tenant}' is not served here"
            )

    def _company(self, work: UnitOfWork, wanted: str | None) -> str:
        if wanted is None:
            raise BCError(
                400,
                "Internal_CompanyNotFound",
                "Cannot process the request because the default company cannot be found. Specify the company "
                "in the URL (companies({id})/...) or add a query string in the form of company=<id>",
            )
        row = work.get(t.COMPANY, wanted) if _looks_like_guid(wanted) else None
        name_length = t.COMPANY.attribute("name").max_length or 0  # type: ignore[union-attr]
        if row is None and len(wanted) <= name_length:
            named = work.find(t.COMPANY, {"name": wanted})
            row = named[0] if named else None
        if row is None:
            raise company_not_found(wanted)
        return row["id"]

    def _context_url(self, service: ServicePath) -> str:
        tenant = f"/{service.tenant}" if service.tenant else ""
        return (
            f"{self.context.base_url}/v2.0{tenant}/{service.environment}/{service.pages.route.path}/$metadata"
        )

    def _service_document(self, service: ServicePath) -> dict[str, Any]:
        sets = list(service.pages.pages)
        return {
            "@odata.context": self._context_url(service),
            "value": [{"name": name, "kind": "EntitySet", "url": name} for name in sets],
        }

    def ensure_companies(self) -> None:
        """The company from the settings exists (created on first start; other processes may race)."""
        settings = self.settings
        if self.repository.get(t.COMPANY, settings.company_id) is not None:
            return
        # Another process (or the seed) may create it first.
        with suppress(DuplicateKey):
            self.repository.insert(
                t.COMPANY,
                {
                    "id": settings.company_id,
                    "name": settings.company_name[:30],
                    "displayName": settings.company_name,
                    "systemVersion": "26.1.0.0",
                },
                as_system=True,
            )


def company_not_found(company: str) -> BCError:
    return BCError(
        404,
        "Internal_CompanyNotFound",
        f"Cannot process the request because the company '{company}' cannot be found",
    )


def _looks_like_guid(text: str) -> bool:
    try:
        parse_guid(text)
    except ValueError:
        return False
    return True
