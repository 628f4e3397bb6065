"""One airflow DAG per manual record action (bcsync_couple, bcsync_uncouple, ...); see docs/ui.md.

Parsing reads only the mapping files; the tasks import what they need when they run.
"""

from bcsync.action_dags import build_action_dags

globals().update(build_action_dags())
