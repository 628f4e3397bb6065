"""The local Business Central API as an ASGI app: every path goes through one dispatcher.

Paths outside the BC URL shapes, unknown segments and unsupported methods all answer with BC's
error JSON, never a bare 404/405 or a silent 200. Database work runs in the thread pool.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bc.batch import run_batch, service_root
from sandbox.bc.errors import BCError, error_response, method_not_allowed
from sandbox.bc.service import Answer, BusinessCentral, Call
from sandbox.bc.urls import Target, parse_resource, parse_service_path
from sandbox.bc.wire import dumps
from sandbox.context import ServiceContext

log = logging.getLogger("sandbox.bc")

JSON_TYPE = (
    "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
)
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "MERGE"]


def create_app(context: ServiceContext) -> FastAPI:
    """The BC API routes (auth and service protection are added around it by the server)."""
    service = BusinessCentral(context)
    service.ensure_companies()

    async def dispatch(request: Request) -> Response:
        body = await request.body()
        try:
            answer = await run_in_threadpool(_answer, service, request, body)
        except BCError as error:
            return error_response(error.status, error.code, error.message, error.headers or None)
        except Exception:  # a bug must still answer in BC's shape (and be logged with its traceback)
            log.exception("BC request failed: %s %s", request.method, request.url.path)
            return error_response(500, "Internal_ServerError", "An unexpected error occurred in the service")
        return _response(answer)

    app = FastAPI(title="Business Central (local)", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.routes.append(Route("/{path:path}", dispatch, methods=METHODS))
    app.state.bc = service
    return app


def _principal_id(request: Request) -> str | None:
    principal = getattr(request.state, "principal", None)
    return getattr(principal, "object_id", None)


def _answer(service: BusinessCentral, request: Request, body: bytes) -> Answer:
    headers = {name.lower(): value for name, value in request.headers.items()}
    path = request.url.path
    actor = _principal_id(request)
    target = parse_service_path(path)
    if parse_resource(target.pages, target.rest).target is Target.BATCH:
        if request.method != "POST":
            raise method_not_allowed(request.method, "$batch")
        service.check_environment(target)
        return run_batch(service, service_root(target), body, headers, actor)
    if request.method not in ("GET", "POST", "PATCH", "DELETE"):
        raise method_not_allowed(request.method, path.rsplit("/", 1)[-1])
    query = dict(request.query_params)
    return service.handle(Call(request.method, path, query, headers, body, actor))


def _response(answer: Answer) -> Response:
    headers: dict[str, Any] = {"OData-Version": "4.0", **answer.headers}
    if answer.body is None:
        return Response(status_code=answer.status, headers=headers)
    if isinstance(answer.body, str):  # $metadata
        media_type = headers.pop("content-type", "application/xml")
        return Response(answer.body, status_code=answer.status, media_type=media_type, headers=headers)
    return Response(dumps(answer.body), status_code=answer.status, media_type=JSON_TYPE, headers=headers)
