# bcsync's Airflow image: Airflow's official image with bcsync's locked dependencies, bcsync installed as
# a provider, and its DAGs, plugin and mappings in Airflow's folders. docker-compose.yaml builds it and
# runs it for every Airflow component (and for the local services under its `sandbox` profile).
#
#   docker build -t bcsync-airflow .
#
# The base image's Airflow and Python are the ones requirements.txt pins and pyproject.toml requires
# (tests/dags/test_compose.py checks both).
FROM apache/airflow:3.3.2-python3.11

# Airflow's image installs Python packages as its own user, never as root. The build folder is made by
# that user, so pip may write its build files there.
USER airflow
RUN mkdir -p /tmp/bcsync /opt/airflow/sandbox
WORKDIR /tmp/bcsync

# Dependencies first, so a change of bcsync's code rebuilds only the layers below. requirements.lock
# also holds the test and lint tools: the runtime requirements are installed with the lock as
# constraints, so every package gets the version the tests ran with and none of the tools comes along.
COPY --chown=airflow:0 requirements.txt requirements.lock ./
RUN pip install --no-cache-dir -r requirements.txt -c requirements.lock

# bcsync itself, without dependencies (installed above): its `apache_airflow_provider` entry point
# registers the connection types, so the Connection form offers Business Central and Dataverse.
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 plugins ./plugins
RUN pip install --no-cache-dir --no-deps . && rm -rf /tmp/bcsync/*

# What the components load at run time, where Airflow looks for it: DAG files, the plugin, and the
# mappings beside the dags folder (include/mappings). plugins/ and include/ are the import roots, as in
# the checkout (bcsync; sandbox and bcsync_dev), so docker-compose.yaml's bind mounts of the checkout's
# folders run the code being edited.
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 include /opt/airflow/include
ENV PYTHONPATH=/opt/airflow/plugins:/opt/airflow/include

WORKDIR /opt/airflow
