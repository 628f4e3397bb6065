-- The coupling store's database, beside Airflow's metadata database on the same PostgreSQL server.
-- PostgreSQL's image runs this once, when it initialises an empty data volume; bcsync creates its
-- tables itself (migrations run when the store is first opened).
CREATE DATABASE bcsync;
