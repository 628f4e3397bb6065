"""bcsync: Business Central ↔ Dynamics 365 Sales (Dataverse) synchronization on Apache Airflow."""
