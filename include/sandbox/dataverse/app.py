"""The ASGI app of the local Dataverse Web API: every path under `/api/data/v9.2/` goes to the service.

Anything else answers a Dataverse-shaped 404, and unexpected failures a Dataverse-shaped 500.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sandbox.context import ServiceContext
from sandbox.dataverse.batch import BatchRunner
from sandbox.dataverse.catalog import Catalog
from sandbox.dataverse.errors import ODATA_ERROR, error_response
from sandbox.dataverse.resources import API_PREFIX
from sandbox.dataverse.service import ApiRequest, ApiResponse, DataverseService

log = logging.getLogger("sandbox.dataverse")
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def create_app(context: ServiceContext) -> FastAPI:
    """The Dataverse app over the context's repository and schemas (keyed by entity set name)."""
    service = DataverseService(Catalog(context.schemas.values()), context.repository, context.base_url)
    batches = BatchRunner(service)
    app = FastAPI(
        title="Dataverse Web API v9.2 (bcsync sandbox)", openapi_url=None, docs_url=None, redoc_url=None
    )

    @app.api_route(API_PREFIX + "/{resource:path}", methods=METHODS, include_in_schema=False)
    async def web_api(request: Request) -> Response:
        api_request = ApiRequest(
            method=request.method,
            path=_resource_path(request),
            query=parse_qsl(request.url.query, keep_blank_values=True),
            headers=_headers(request),
            body=await request.body(),
            app_id=_app_id(request),
        )
        if api_request.path == "$batch" and api_request.method == "POST":
            answer = await run_in_threadpool(batches.run, api_request)
        else:
            answer = await run_in_threadpool(service.handle, api_request)
        return _response(answer)

    @app.api_route(API_PREFIX, methods=METHODS, include_in_schema=False)
    async def service_root(request: Request) -> Response:
        api_request = ApiRequest(request.method, "", parse_qsl(request.url.query), _headers(request))
        return _response(await run_in_threadpool(service.handle, api_request))

    @app.api_route("/{anything:path}", methods=METHODS, include_in_schema=False)
    async def outside_api(anything: str) -> Response:
        return error_response(
            404, ODATA_ERROR, f"Resource not found for the segment '{anything.split('/')[0]}'."
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return error_response(
            500, "0x80040216", f"An unexpected error occurred: {type(error).__name__}: {error}"
        )

    return app


def _resource_path(request: Request) -> str:
    # The raw path keeps percent-encoded '/' and quotes inside key predicates intact.
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    path = path.split("?", 1)[0]
    marker = path.find(API_PREFIX)
    if marker < 0:
        marker = unquote(path).find(API_PREFIX)
    return path[marker + len(API_PREFIX) :].lstrip("/")


def _headers(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _app_id(request: Request) -> str | None:
    principal = getattr(request.state, "principal", None)
    return getattr(principal, "app_id", None)


def _response(answer: ApiResponse) -> Response:
    return Response(content=answer.body, status_code=answer.status, headers=answer.headers)
