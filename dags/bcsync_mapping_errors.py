"""Airflow DAG stand-ins for broken bcsync mappings, kept apart from dags/bcsync_jobs.py.

Each stand-in fails Airflow's DAG validation, so this file shows an import error naming each DAG, the
mapping file, the mapping and the field. Airflow stops scheduling every DAG of a file that has an import
error, which is why the working jobs' DAGs are in a file of their own.
"""

from bcsync.broken_mapping import broken_mapping_dags

globals().update(broken_mapping_dags())
