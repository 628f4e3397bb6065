"""The FastAPI app behind bcsync's pages, mounted by the plugin at /bcsync in Airflow's API server.

Every route is protected by Airflow's own auth dependencies (`airflow.api_fastapi.core_api.security`):
`get_user` takes the Bearer token of an API client or the UI's JWT cookie (401 without either), and
`requires_access_dag` asks the configured auth manager (403 when it says no). Reading needs DAG read
access (GET), Restore needs DAG edit access (PUT, what Airflow asks for pausing or editing a DAG).

Importing this module costs FastAPI only: Airflow's security module (the API server's models and
SQLAlchemy) is imported when the app is built, the store and pandas when a page is first asked for.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at definition time,
# and the routes are defined inside `create_app`, next to the Airflow dependencies they name.
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response

from bcsync.web.render import PageError, app_root, error_response

MAX_LIMIT = 1000


def create_app() -> FastAPI:
    from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag

    read = [Depends(requires_access_dag(method="GET"))]
    edit = [Depends(requires_access_dag(method="PUT"))]

    # No /docs or /openapi.json: they would answer without authentication.
    app = FastAPI(title="bcsync", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(PageError, _page_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)

    @app.get("/", dependencies=read)
    def index(request: Request) -> Response:
        return RedirectResponse(f"{app_root(request)}/jobs", status_code=307)

    @app.get("/jobs", dependencies=read)
    def jobs(
        request: Request,
        job: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> Response:
        """BC's Integration Synch. Job List: the job log with its counters, newest first."""
        from bcsync.web import pages

        return pages.jobs(request, job or None, limit)

    @app.get("/errors", dependencies=read)
    def errors(request: Request, job: str | None = None, direction: str | None = None) -> Response:
        """BC's Integration Synch. Errors: open per-record errors, oldest first."""
        from bcsync.web import pages

        return pages.errors(request, job or None, direction or None)

    @app.get("/skipped", dependencies=read)
    def skipped(
        request: Request,
        job: str | None = None,
        restored: Annotated[int | None, Query(ge=0)] = None,
        unmatched: Annotated[int | None, Query(ge=0)] = None,
    ) -> Response:
        """BC's CRM Skipped Records; `restored`/`unmatched` report a restore (Post/Redirect/Get)."""
        from bcsync.web import pages

        return pages.skipped(request, job or None, restored, unmatched)

    @app.post("/skipped/restore", dependencies=edit)
    def restore(
        request: Request,
        user: GetUserDep,
        job: Annotated[str, Form()],
        bc_id: Annotated[list[str] | None, Form()] = None,
        crm_id: Annotated[list[str] | None, Form()] = None,
        everything: Annotated[bool, Form(alias="all")] = False,
    ) -> Response:
        """BC's Restore / Restore All; answers with a redirect to the skipped records (JSON on request)."""
        from bcsync.web import pages

        return pages.restore(
            request, job, bc_ids=bc_id or [], crm_ids=crm_id or [], everything=everything, user=user
        )

    return app


async def _page_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageError)
    return error_response(request, error.status_code, error.message)


async def _invalid_request(request: Request, error: Exception) -> Response:
    """A parameter FastAPI could not read (limit=abc, a form without job): a 400 page naming it."""
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(_problem(e) for e in error.errors())
    return error_response(request, 400, f"Invalid request: {problems}")


def _problem(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
    return f"{where}: {error.get('msg', 'invalid')}"
