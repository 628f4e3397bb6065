"""The bcsync Airflow plugin: registration only, the code lives in the `bcsync` package.

Airflow imports this file in every component (API server, scheduler, DAG processor, task processes),
so it imports nothing heavy: the listener module imports Airflow's core lazily, and `bcsync.web` holds
only the pages' registration data. Their FastAPI app (FastAPI, Airflow's auth dependencies) is built
when Airflow asks for `fastapi_apps`, which only the API server (and `airflow plugins`) does.
plugins/.airflowignore keeps the plugin loader from importing the `bcsync` package's modules as
plugin files.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from bcsync import listeners, web


class BcsyncPlugin(AirflowPlugin):
    """Writes BC's job counters into the note of each finished bcsync DAG run, and adds BC's
    synchronization pages (mappings, couplings, job log, errors, skipped records) to the Airflow UI's
    Browse menu."""

    name = "bcsync"
    listeners = [listeners]
    external_views = [dict(view) for view in web.EXTERNAL_VIEWS]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """Mounted at /bcsync by the API server; a property, so other components never build it."""
        return web.fastapi_apps()
