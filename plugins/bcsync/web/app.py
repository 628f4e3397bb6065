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
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag

    read = [Depends(requires_access_dag(method="GET"))]
    edit = [Depends(requires_access_dag(method="PUT"))]
    trigger = [Depends(requires_access_dag(method="POST", access_entity=DagAccessEntity.RUN))]
    _warm_up()

    # No /docs or /openapi.json: they would answer without authentication.
    app = FastAPI(title="bcsync", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(PageError, _page_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)

    @app.get("/", dependencies=read)
    def index(request: Request) -> Response:
        return RedirectResponse(f"{app_root(request)}/jobs", status_code=307)

    @app.get("/mappings", dependencies=read)
    def mappings(request: Request) -> Response:
        """BC's Integration Table Mappings, with the list's actions."""
        from bcsync.web import manage_pages

        return manage_pages.mappings_page(request)

    @app.post("/mappings/synchronize", dependencies=trigger)
    def synchronize(
        request: Request, user: GetUserDep, job: Annotated[str, Form()], kind: Annotated[str, Form()]
    ) -> Response:
        """Run Full Synchronization (kind=full) / Synchronize Modified Records (kind=modified)."""
        from bcsync.web import manage_pages

        return manage_pages.synchronize_job(request, job, kind, user)

    @app.get("/couplings", dependencies=read)
    def couplings(request: Request, job: str | None = None, q: str | None = None) -> Response:
        """A job's couplings, searchable by BC number or name, Sales name, or id; with the record actions."""
        from bcsync.web import manage_pages

        return manage_pages.couplings_page(request, job or None, (q or "").strip() or None)

    @app.post("/actions/{action}", dependencies=trigger)
    def action(
        request: Request,
        user: GetUserDep,
        action: str,
        job: Annotated[str, Form()],
        records: Annotated[list[str], Form()],
        back: Annotated[str, Form()] = "couplings",
        counterpart: Annotated[str | None, Form()] = None,
        side: Annotated[str | None, Form()] = None,
        direction: Annotated[str | None, Form()] = None,
        synchronize_after: Annotated[str | None, Form()] = None,
        match_fields: Annotated[list[str] | None, Form()] = None,
        case_sensitive: Annotated[str | None, Form()] = None,
        create_new_if_no_match: Annotated[str | None, Form()] = None,
    ) -> Response:
        """A record action (bcsync.actions.catalog) as a DAG run; back to `back` with the run's ids."""
        from bcsync.web import manage_pages

        given = {
            "counterpart": counterpart,
            "side": side,
            "direction": direction,
            "synchronize_after": synchronize_after,
            "match_fields": match_fields,
            "case_sensitive": case_sensitive,
            "create_new_if_no_match": create_new_if_no_match,
        }
        options = {name: value for name, value in given.items() if value not in (None, "", [])}
        return manage_pages.start_action(request, action, job, records, options, back, user)

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
    def errors(
        request: Request,
        job: str | None = None,
        direction: str | None = None,
        status: str = "open",
        days: str | None = None,  # text: the form sends "" for "any age"
        deleted: str | None = None,
    ) -> Response:
        """BC's Integration Synch. Errors: open (closed, all) per-record errors, oldest first."""
        from bcsync.web import pages

        return pages.errors(
            request,
            job or None,
            direction or None,
            status=status,
            days=pages.days_value(days),
            deleted=deleted,
        )

    @app.post("/errors/delete", dependencies=edit)
    def delete_entries(
        request: Request,
        user: GetUserDep,
        days: Annotated[float, Form(ge=0)],
        job: Annotated[str | None, Form()] = None,
    ) -> Response:
        """BC's "Delete Entries Older Than N Days" (job log and errors; skipped records' entries stay)."""
        from bcsync.web import pages

        return pages.delete_entries(request, job or None, days, user)

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


def _warm_up() -> None:
    """Load pandas, the store and the mappings in the background when the API server builds the app,
    so the first page an admin opens is not blank for seconds while they load."""
    import threading

    def load() -> None:
        try:
            from bcsync.registry import load_registry
            from bcsync.web import manage_pages, pages  # noqa: F401

            load_registry()
        except Exception:  # a broken mapping or store shows on the page itself, with its reason
            pass

    threading.Thread(target=load, name="bcsync-web-warm-up", daemon=True).start()


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
