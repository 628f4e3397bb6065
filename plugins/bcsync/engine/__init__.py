"""The pure core of the sync: change detection, matching, transformation and conflict decisions.

Functions here take pandas frames and plain values and return decisions; they do no I/O and know
nothing about Airflow or HTTP, so BC's semantics can be tested in milliseconds.
"""
