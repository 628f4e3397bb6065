"""One airflow DAG per bcsync job (bcsync_customer, bcsync_contact, ...), from include/mappings/*.yaml.

Parsing reads only the mapping files; every task imports what it needs when it runs.
"""

from bcsync.dag_factory import build_dags

globals().update(build_dags())
