# bcsync — every target sets itself up on a fresh machine (virtualenv + locked dependencies).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/include
export SANDBOX_DATA_DIR ?= $(CURDIR)/var/sandbox

.PHONY: demo test sandbox airflow lint lock bench bench-sync clean browser

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip sync --quiet --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	touch $@

## Run the main job on the embedded default (local services + SQLite).
demo: $(VENV)/.installed
	$(PY) -m bcsync_dev.demo

## Run the whole test suite (lint first: a ruff finding fails the build). The end-to-end tier, mostly
## waiting on Airflow, runs beside the other tiers (2 cores: about a third less wall time); its output
## (var/test-e2e.log) follows theirs, and its timing figures are then those of a busy machine.
test: $(VENV)/.installed browser
	$(VENV)/bin/ruff check .
	@mkdir -p var
	@$(PY) -m pytest -m e2e tests/e2e > var/test-e2e.log 2>&1 & e2e=$$!; \
	trap 'kill $$e2e 2>/dev/null' INT TERM; \
	$(PY) -m pytest -m "not e2e"; others=$$?; \
	wait $$e2e; e2e_status=$$?; \
	echo "===== end-to-end tier (var/test-e2e.log) ====="; cat var/test-e2e.log; \
	[ $$others -eq 0 ] && [ $$e2e_status -eq 0 ]

## The same, one tier after the other (every tier's timing figures on an otherwise idle machine).
test-serial: $(VENV)/.installed browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

## One tier of the suite (the folders under tests/, marked by tests/conftest.py): unit, integration,
## dags or e2e. Narrow it down with PYTEST_ARGS, e.g. make test-unit PYTEST_ARGS="-k store".
TIERS := test-unit test-integration test-dags test-e2e
.PHONY: test-fast test-serial $(TIERS)
$(TIERS): test-%: $(VENV)/.installed browser
	$(PY) -m pytest -m $* $(PYTEST_ARGS) tests/$*

## Everything but the end-to-end tier (lint first, as in `make test`).
test-fast: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

## Debian's Chromium for the browser test (tests/e2e/test_web_browser.py), installed with apt-get when
## missing; quiet, and never failing: without apt (or root) the browser test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || true

## Start the local Entra ID, Dataverse and Business Central services in the foreground.
sandbox: $(VENV)/.installed
	$(PY) -m sandbox serve

## Airflow (api-server, scheduler, dag-processor, triggerer) on the local services: the UI at http://127.0.0.1:8080.
## AIRFLOW_ARGS="--executor celery": the CeleryExecutor with two workers, Redis, PostgreSQL and S3 staging (moto).
airflow: $(VENV)/.installed
	$(PY) -m bcsync_dev.local_airflow $(AIRFLOW_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

## Re-resolve requirements.txt + requirements-dev.txt into the lock file.
lock:
	test -x $(VENV)/bin/uv || ($(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet uv==0.13.8)
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 requirements.txt requirements-dev.txt -o requirements.lock

## Throughput of the local services (see benchmarks/README.md).
bench: $(VENV)/.installed
	$(PY) benchmarks/sandbox_throughput.py
	$(PY) benchmarks/sandbox_bc_throughput.py

## bcsync against a plain per-record client, CUSTOMER BC → Sales: one table of wall, CPU (bcsync vs
## Airflow), peak RSS and requests per size (see benchmarks/README.md). 100,000 customers take a while.
SIZES ?= 1000 10000 100000
bench-sync: $(VENV)/.installed
	$(PY) benchmarks/bench_sync.py --customers $(SIZES)

clean:
	rm -rf var .pytest_cache .ruff_cache
