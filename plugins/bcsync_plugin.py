"""The bcsync Airflow plugin: registration only, the code lives in the `bcsync` package.

Airflow imports this file in every component (API server, scheduler, DAG processor, task processes),
so it imports nothing heavy: the listener module itself imports Airflow's core lazily.
plugins/.airflowignore keeps the plugin loader from importing the `bcsync` package's modules as
plugin files.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from bcsync import listeners


class BcsyncPlugin(AirflowPlugin):
    """Writes BC's job counters into the note of each finished bcsync DAG run."""

    name = "bcsync"
    listeners = [listeners]
