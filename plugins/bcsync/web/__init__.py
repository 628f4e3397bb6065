"""BC's synchronization pages inside the Airflow UI: Integration Table Mappings, Couplings, the job log,
the per-record errors and the skipped records, with BC's actions as DAG runs, served by a FastAPI app
that the bcsync plugin mounts in Airflow's API server.

This module is what `plugins/bcsync_plugin.py` imports in every Airflow component, so it holds only the
registration data. The app is built on first use (`fastapi_app()`), which happens in the API server
alone: `app.py` brings in FastAPI and Airflow's auth dependencies, `pages.py` pandas and the store.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

URL_PREFIX = "/bcsync"
APP_NAME = "bcsync"

# (path under URL_PREFIX, BC's page name): the navigation entries, in BC's order.
PAGES = (
    ("mappings", "Integration Table Mappings"),
    ("couplings", "Couplings"),
    ("jobs", "Integration Synch. Job List"),
    ("errors", "Integration Synch. Errors"),
    ("skipped", "CRM Skipped Records"),
)

# Airflow 3.3 external views: with `url_route` the page is shown inside the Airflow UI (an iframe under
# /plugin/<url_route>), listed in the Browse menu. `href` is relative (no leading slash), so it resolves
# against the UI's base URL, also behind a reverse proxy with a path prefix.
EXTERNAL_VIEWS: tuple[dict[str, Any], ...] = tuple(
    {
        "name": name,
        "href": f"{URL_PREFIX.lstrip('/')}/{path}",
        "destination": "nav",
        "category": "browse",
        "url_route": f"bcsync-{path}",
    }
    for path, name in PAGES
)


@functools.cache
def fastapi_app() -> FastAPI:
    """The app, built once per process on first use."""
    from bcsync.web.app import create_app

    return create_app()


def fastapi_apps() -> list[dict[str, Any]]:
    """The plugin's `fastapi_apps` entry: Airflow mounts the app at URL_PREFIX."""
    return [{"app": fastapi_app(), "url_prefix": URL_PREFIX, "name": APP_NAME}]
