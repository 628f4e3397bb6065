"""BC's manual record actions as Airflow DAG runs: the catalog (what to trigger) and their bodies."""
