"""BC URL shapes: `/v2.0/{tenant}/{environment}/api/{route}/companies({id})/{entitySet}({id})/...`.

`parse_service_path` splits off the tenant, environment and API route; `parse_resource` reads what
follows the route (also the relative URLs of `$batch` operations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sandbox.bc.errors import BCError, bad_request, not_found_segment
from sandbox.bc.pages import PAGE_INDEXES, ApiPage, PageIndex
from sandbox.storage.values import parse_guid

_SEGMENT = re.compile(r"([A-Za-z$][A-Za-z0-9_.]*)(?:\((.*)\))?\Z")


class Target(StrEnum):
    SERVICE_DOCUMENT = "service document"
    METADATA = "$metadata"
    BATCH = "$batch"
    COMPANIES = "companies"
    COMPANY = "company"
    ENTITY_SET = "entity set"
    ENTITY = "entity"


@dataclass(frozen=True)
class ServicePath:
    tenant: str | None
    environment: str
    pages: PageIndex
    rest: str  # what follows the route, without a leading slash


@dataclass(frozen=True)
class Resource:
    target: Target
    company: str | None = None  # from the path; `?company=` is the caller's fallback
    page: ApiPage | None = None
    key: str | None = None
    parent_id: str | None = None


def parse_service_path(path: str) -> ServicePath:
    """Tenant (optional, as Microsoft's own samples leave it out), environment and API route."""
    segments = path.strip("/").split("/")
    if not segments or segments[0] != "v2.0":
        raise not_found_segment(segments[0] if segments else path)
    try:
        api_at = segments.index("api")
    except ValueError:
        raise not_found_segment(segments[-1]) from None
    if api_at == 3:
        tenant, environment = segments[1], segments[2]
    elif api_at == 2:
        tenant, environment = None, segments[1]
    else:
        raise not_found_segment("/".join(segments[1:api_at]) or "api")
    after_api = segments[api_at:]
    for index in PAGE_INDEXES.values():
        route = index.route.path.split("/")
        if after_api[: len(route)] == route:
            return ServicePath(tenant, environment, index, "/".join(after_api[len(route) :]))
    raise not_found_segment("/".join(after_api[:4]))


def _segment(text: str) -> tuple[str, str | None]:
    match = _SEGMENT.match(text)
    if match is None:
        raise not_found_segment(text)
    return match.group(1), match.group(2)


def _guid(text: str, segment: str) -> str:
    value = text.strip()
    if value.startswith("id="):
        value = value[3:]
    try:
        return parse_guid(value.strip("'"))
    except ValueError:
        raise BCError(
            400,
            "BadRequest",
            f"Bad Request - Error in query syntax: the key of '{segment}' must be a GUID, got '{text}'",
        ) from None


def parse_resource(pages: PageIndex, rest: str) -> Resource:
    segments = [s for s in rest.strip("/").split("/") if s] if rest.strip("/") else []
    if not segments:
        return Resource(Target.SERVICE_DOCUMENT)
    if segments == ["$metadata"]:
        return Resource(Target.METADATA)
    if segments == ["$batch"]:
        return Resource(Target.BATCH)
    name, key = _segment(segments[0])
    company = None
    if name == "companies":
        if key is None:
            if len(segments) > 1:
                raise not_found_segment(segments[1])
            return Resource(Target.COMPANIES)
        company = _guid(key, name)
        if len(segments) == 1:
            return Resource(Target.COMPANY, company=company, key=company)
        segments = segments[1:]
        name, key = _segment(segments[0])
    page = pages.page(name)
    if page is None or page.entity_set == "companies":
        raise not_found_segment(name)
    if len(segments) == 1:
        if key is None:
            return Resource(Target.ENTITY_SET, company, page)
        return Resource(Target.ENTITY, company, page, _guid(key, name))
    if key is None or len(segments) > 2:
        raise not_found_segment(segments[1])
    parent_id = _guid(key, name)
    child_name, child_key = _segment(segments[1])
    child = pages.page(child_name)
    if child is None or child.parent != page.entity_set:
        if child_name.startswith("Microsoft.NAV."):
            raise BCError(
                400,
                "BadRequest_MethodNotAllowed",
                f"The bound action '{child_name}' is not available in the local Business Central service",
            )
        raise not_found_segment(child_name)
    if child_key is None:
        return Resource(Target.ENTITY_SET, company, child, parent_id=parent_id)
    return Resource(Target.ENTITY, company, child, _guid(child_key, child_name), parent_id=parent_id)


def company_from_query(value: str | None) -> str | None:
    """`?company=` names a company by id (or by name, which the caller resolves)."""
    if value is None:
        return None
    if not value.strip():
        raise bad_request("The query parameter 'company' is empty")
    return value.strip().strip("'")
