"""One DAG per bcsync job (bcsync_customer, bcsync_contact, ...), built from include/mappings/*.yaml."""

from bcsync.dag_factory import build_dags

globals().update(build_dags())
