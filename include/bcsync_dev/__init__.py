"""Developer tooling around bcsync: the demo, a local Airflow stack, local PostgreSQL databases and the
connections that point bcsync at the local services. Not part of the product: production never imports it."""
