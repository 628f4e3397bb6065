"""docker-compose.yaml and the Dockerfile describe the stack the native Celery stack runs
(bcsync_dev.celery_stack), checked statically: CI has no Docker engine.

Each check returns the problems it finds, so the same check runs on the real files (no problem) and on
broken copies (`test_each_check_fails_on_a_broken_file`: a check that cannot fail checks nothing).
No JSON schema of the Compose Specification is available offline here (none in the venv, none on
the machine), so the keys, conditions and durations used are checked against the specification's
lists, written down below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from airflow.models.connection import Connection

from bcsync.hooks import BusinessCentralHook, DataverseHook
from bcsync.store.database import DEFAULT_CONN_ID as STORE_CONN_ID
from bcsync_dev.celery_stack import CELERY_COMPONENTS, STAGING_CONN_ID, celery_environment
from bcsync_dev.sandbox_connections import CUSTOM_API, connection_env_var
from sandbox.settings import SandboxSettings
from tests.dags.compose_file import (
    COMPOSE_FILE,
    DOCKERFILE,
    ROOT,
    InterpolationError,
    command_words,
    dockerfile_instructions,
    environment_of,
    interpolate,
    load_compose,
    load_raw_compose,
)

Problems = list[str]
Compose = dict[str, Any]

# From the Compose Specification (compose-spec.io): the top-level elements and a service's attributes.
TOP_LEVEL_KEYS = {
    "version",
    "name",
    "include",
    "services",
    "networks",
    "volumes",
    "secrets",
    "configs",
    "models",
}
SERVICE_KEYS = {
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent",
    "command", "configs", "container_name", "cpu_count", "cpu_percent", "cpu_shares", "cpu_period",
    "cpu_quota", "cpu_rt_runtime", "cpu_rt_period", "cpus", "cpuset", "credential_spec", "depends_on",
    "deploy", "develop", "device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname",
    "driver_opts", "entrypoint", "env_file", "environment", "expose", "extends", "external_links",
    "extra_hosts", "gpus", "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation",
    "labels", "label_file", "links", "logging", "mac_address", "mem_limit", "mem_reservation",
    "mem_swappiness", "memswap_limit", "models", "network_mode", "networks", "oom_kill_disable",
    "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start", "pre_stop", "privileged",
    "profiles", "provider", "pull_policy", "read_only", "restart", "runtime", "scale", "secrets",
    "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls",
    "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from",
    "working_dir",
}  # fmt: skip
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
DEPENDS_ON_KEYS = {"condition", "restart", "required"}
RESTART_POLICIES = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
# What a service waits for: running alone (service_started) says nothing about being ready.
READY_CONDITIONS = {"service_healthy", "service_completed_successfully"}

CONTRACT_CONNECTIONS = (
    BusinessCentralHook.default_conn_name,
    DataverseHook.default_conn_name,
    STORE_CONN_ID,
    STAGING_CONN_ID,
)
# celery_environment's values, by kind: compose's value must have the same scheme (and, for the
# staging URL, name the same Connection).
EXPECTED_ENV = celery_environment(
    broker_url="redis://broker:6379/0",
    result_backend="db+postgresql://user:password@database/airflow",
    staging_url=f"s3://{STAGING_CONN_ID}@bucket/prefix",
)


# -- reading -------------------------------------------------------------------------------------------


def services(compose: Compose) -> dict[str, dict[str, Any]]:
    return compose.get("services") or {}


def airflow_component(service: dict[str, Any]) -> str | None:
    """The `airflow <component>` a service runs (the image's entrypoint prefixes `airflow`)."""
    words = command_words(service.get("command"))
    for component in CELERY_COMPONENTS:
        if words == component.split():
            return component
    return None


def airflow_services(compose: Compose) -> dict[str, dict[str, Any]]:
    """The services that are part of Airflow: its components and the init step that prepares them."""
    return {
        name: service
        for name, service in services(compose).items()
        if airflow_component(service)
        or "airflow db migrate" in " ".join(command_words(service.get("command")))
    }


def one_shot_services(compose: Compose) -> set[str]:
    return {
        target
        for service in services(compose).values()
        for target, rule in dependencies(service).items()
        if rule.get("condition") == "service_completed_successfully"
    }


def dependencies(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):  # the short form: started, not ready
        return {name: {"condition": "service_started"} for name in depends}
    return depends


def connection(uri: str, conn_id: str) -> Connection:
    return Connection(conn_id=conn_id, uri=uri)


def host_of(url: str) -> str | None:
    return urlsplit(url).hostname


# -- the checks ----------------------------------------------------------------------------------------


def check_uses_compose_spec_keys_only(compose: Compose) -> Problems:
    problems = [
        f"top-level key {key!r} is not in the Compose Specification"
        for key in compose
        if key not in TOP_LEVEL_KEYS and not str(key).startswith("x-")
    ]
    for name, service in services(compose).items():
        problems += [
            f"{name}: {key!r} is no service attribute"
            for key in service
            if key not in SERVICE_KEYS and not str(key).startswith("x-")
        ]
        healthcheck = service.get("healthcheck") or {}
        problems += [
            f"{name}: healthcheck.{key} is unknown" for key in healthcheck if key not in HEALTHCHECK_KEYS
        ]
        problems += [
            f"{name}: healthcheck.{key} {healthcheck[key]!r} is no duration"
            for key in ("interval", "timeout", "start_period", "start_interval")
            if key in healthcheck and not DURATION.match(str(healthcheck[key]))
        ]
        for target, rule in dependencies(service).items():
            problems += [
                f"{name}: depends_on.{target}.{key} is unknown" for key in rule if key not in DEPENDS_ON_KEYS
            ]
        if "restart" in service and not RESTART_POLICIES.match(str(service["restart"])):
            problems.append(f"{name}: restart {service['restart']!r} is no restart policy")
    return problems


def check_celery_components_are_services(compose: Compose) -> Problems:
    running = {airflow_component(service) for service in services(compose).values()}
    return [f"no service runs `airflow {c}`" for c in CELERY_COMPONENTS if c not in running]


def check_celery_environment(compose: Compose) -> Problems:
    problems = []
    for name, service in airflow_services(compose).items():
        env = environment_of(service)
        for key, expected in EXPECTED_ENV.items():
            actual = env.get(key)
            if actual is None:
                problems.append(f"{name}: {key} is not set")
            elif "://" in expected:
                if urlsplit(actual).scheme != urlsplit(expected).scheme:
                    problems.append(f"{name}: {key}={actual!r} is not a {urlsplit(expected).scheme}:// URL")
                # An object-storage URL's user part is the Connection that reaches the store.
                elif urlsplit(expected).scheme == "s3" and urlsplit(actual).username != STAGING_CONN_ID:
                    problems.append(
                        f"{name}: {key}={actual!r} does not name the Connection {STAGING_CONN_ID}"
                    )
            elif actual != expected:
                problems.append(f"{name}: {key}={actual!r}, the native stack runs {expected!r}")
    return problems


def check_urls_point_at_services(compose: Compose) -> Problems:
    """The broker, the databases and the staging store are services of this file."""
    names = set(services(compose))
    problems = []
    for name, service in airflow_services(compose).items():
        env = environment_of(service)
        urls = {
            key: env.get(key, "")
            for key in (
                "AIRFLOW__CELERY__BROKER_URL",
                "AIRFLOW__CELERY__RESULT_BACKEND",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                connection_env_var(STORE_CONN_ID),
            )
        }
        staging = env.get(connection_env_var(STAGING_CONN_ID))
        if staging:
            urls["the staging connection's endpoint_url"] = connection(
                staging, STAGING_CONN_ID
            ).extra_dejson.get("endpoint_url", "")
        for key, url in urls.items():
            if host_of(url) not in names:
                problems.append(f"{name}: {key} points at {host_of(url)!r}, which is no service here")
    return problems


def check_contract_connections(compose: Compose) -> Problems:
    problems = []
    conn_types = {
        BusinessCentralHook.default_conn_name: BusinessCentralHook.conn_type,
        DataverseHook.default_conn_name: DataverseHook.conn_type,
        STORE_CONN_ID: "postgres",
        STAGING_CONN_ID: "aws",
    }
    for name, service in airflow_services(compose).items():
        env = environment_of(service)
        for conn_id in CONTRACT_CONNECTIONS:
            uri = env.get(connection_env_var(conn_id))
            if not uri:
                problems.append(f"{name}: Connection {conn_id} ({connection_env_var(conn_id)}) is not set")
                continue
            conn_type = connection(uri, conn_id).conn_type
            if conn_type != conn_types[conn_id]:
                problems.append(
                    f"{name}: Connection {conn_id} has type {conn_type!r}, not {conn_types[conn_id]!r}"
                )
    return problems


def check_default_connections_reach_the_sandbox(compose: Compose) -> Problems:
    """Without a tenant configured, bc_default and dataverse_default are the `sandbox` profile's services,
    with its identities, and trust its CA from the volume the sandbox writes it to."""
    sandbox = services(compose).get("sandbox")
    if not sandbox:
        return ["no sandbox service"]
    problems = []
    if "sandbox" not in (sandbox.get("profiles") or []):
        problems.append("the sandbox service is not under the `sandbox` profile")
    if command_words(sandbox.get("command"))[-3:] != ["-m", "sandbox", "serve"]:
        problems.append(f"the sandbox service runs {sandbox.get('command')!r}, not python -m sandbox serve")
    settings = SandboxSettings.from_env(environment_of(sandbox))
    ca_in_sandbox = str(settings.ca_file)
    sandbox_mounts = {v.split(":")[1]: v.split(":")[0] for v in sandbox.get("volumes", [])}
    for name, service in airflow_services(compose).items():
        env = environment_of(service)
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}
        for conn_id, url in (
            (BusinessCentralHook.default_conn_name, settings.bc_url),
            (DataverseHook.default_conn_name, settings.dataverse_url),
        ):
            conn = connection(env.get(connection_env_var(conn_id), ""), conn_id)
            extra = conn.extra_dejson
            if f"https://{conn.host}:{conn.port}" != url:
                problems.append(
                    f"{name}: {conn_id} reaches {conn.host}:{conn.port}, the sandbox serves {url}"
                )
            if (conn.login, conn.password, extra.get("tenant_id")) != (
                settings.client_id,
                settings.client_secret,
                settings.tenant_id,
            ):
                problems.append(f"{name}: {conn_id} has not the sandbox's client and tenant")
            if extra.get("authority") != f"{settings.entra_url}/{settings.tenant_id}":
                problems.append(f"{name}: {conn_id}'s authority is not the sandbox's Entra ID")
            folder = str(Path(extra.get("ca_bundle", "/")).parent)
            if extra.get("ca_bundle") != ca_in_sandbox or mounts.get(folder) != sandbox_mounts.get(folder):
                problems.append(f"{name}: {conn_id}'s ca_bundle is not the CA the sandbox writes")
            if conn_id == BusinessCentralHook.default_conn_name and (
                extra.get("company_id"),
                extra.get("environment"),
                extra.get("custom_api"),
            ) != (settings.company_id, settings.bc_environment, CUSTOM_API):
                problems.append(
                    f"{name}: {conn_id} has not the sandbox's company, environment and custom API"
                )
    return problems


def check_one_secret_for_all(compose: Compose, raw: Compose) -> Problems:
    """Every component signs and checks with the same secrets, and each can be set from the outside."""
    problems = []
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        values = {name: environment_of(s).get(key) for name, s in airflow_services(compose).items()}
        if len(set(values.values())) != 1 or not next(iter(values.values()), None):
            problems.append(f"{key} differs between the Airflow services or is empty: {values}")
        written = {environment_of(s).get(key) or "" for s in airflow_services(raw).values()}
        if not all(value.startswith("${") for value in written):
            problems.append(f"{key} is written into the file instead of read from a variable")
    return problems


def check_healthchecks_and_dependencies(compose: Compose) -> Problems:
    problems = []
    one_shot = one_shot_services(compose)
    for name, service in services(compose).items():
        if name in one_shot:
            if str(service.get("restart", "no")) != "no":
                problems.append(f"{name}: a one-shot step must not restart")
        elif not (service.get("healthcheck") or {}).get("test"):
            problems.append(f"{name}: no healthcheck")
        for target, rule in dependencies(service).items():
            condition = rule.get("condition")
            if target not in services(compose):
                problems.append(f"{name}: depends on {target!r}, which is no service")
            elif condition not in READY_CONDITIONS:
                problems.append(f"{name}: waits for {target} with {condition!r}, not for it to be ready")
            elif condition == "service_healthy" and not services(compose)[target].get("healthcheck"):
                problems.append(f"{name}: waits for {target} to be healthy, which has no healthcheck")
    return problems


def check_component_healthchecks(compose: Compose) -> Problems:
    """The API server answers /api/v2/version; the scheduler its health server, which must be enabled."""
    problems = []
    for name, service in airflow_services(compose).items():
        test = " ".join(command_words((service.get("healthcheck") or {}).get("test")))
        component = airflow_component(service)
        if component == "api-server" and "/api/v2/version" not in test:
            problems.append(f"{name}: the healthcheck does not ask /api/v2/version")
        if component == "scheduler":
            if ":8974/health" not in test:
                problems.append(f"{name}: the healthcheck does not ask the scheduler's health server")
            if environment_of(service).get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "").lower() != "true":
                problems.append(f"{name}: the scheduler's health server is not enabled")
        if component == "celery worker":
            if "inspect ping" not in test:
                problems.append(f"{name}: the healthcheck does not ping the Celery worker")
            if {"container_name", "ports"} & set(service):
                problems.append(f"{name}: a fixed name or host port keeps --scale from starting more workers")
    return problems


def check_image_is_the_dockerfile(compose: Compose) -> Problems:
    problems = []
    for name, service in airflow_services(compose).items():
        build = service.get("build")
        context, dockerfile = (
            (build, "Dockerfile")
            if isinstance(build, str)
            else ((build or {}).get("context"), (build or {}).get("dockerfile", "Dockerfile"))
        )
        if context is None or (ROOT / context / dockerfile).resolve() != DOCKERFILE:
            problems.append(f"{name}: not built from {DOCKERFILE.name} (build: {build!r})")
    return problems


def check_init_step(compose: Compose) -> Problems:
    """The init step migrates Airflow's database, imports bcsync's pools and makes the staging bucket;
    every component waits for it to finish."""
    inits = [n for n, s in airflow_services(compose).items() if not airflow_component(s)]
    if len(inits) != 1:
        return [f"expected one init service, found {inits}"]
    script = " ".join(command_words(services(compose)[inits[0]].get("command")))
    problems = []
    pools_file = re.search(r"bcsync\.deployment pools-file (\S+?);?(\s|$)", script)
    if not pools_file or f"airflow pools import {pools_file.group(1)}" not in script:
        problems.append("the init step does not import the pools file bcsync.deployment writes")
    if "bcsync.deployment staging-bucket" not in script:
        problems.append("the init step does not create the staging bucket")
    if "set -e" not in script:
        problems.append("the init step goes on after a failed command")
    for name, service in airflow_services(compose).items():
        if name != inits[0] and dependencies(service).get(inits[0], {}).get("condition") != (
            "service_completed_successfully"
        ):
            problems.append(f"{name}: does not wait for {inits[0]} to complete")
    return problems


def check_store_database_is_created(compose: Compose) -> Problems:
    """The coupling store's database exists on the PostgreSQL service: its init scripts create it."""
    problems = []
    for name, airflow_service in airflow_services(compose).items():
        uri = environment_of(airflow_service).get(connection_env_var(STORE_CONN_ID), "")
        database = urlsplit(uri).path.lstrip("/")
        server = services(compose).get(host_of(uri) or "", {})
        scripts = "".join(
            path.read_text()
            for volume in server.get("volumes", [])
            if volume.split(":")[1] == "/docker-entrypoint-initdb.d"
            for path in sorted((ROOT / volume.split(":")[0]).glob("*.sql"))
        )
        if not re.search(rf"CREATE DATABASE {re.escape(database)}\b", scripts):
            problems.append(
                f"{name}: no init script of {host_of(uri)!r} creates the store's database {database!r}"
            )
    return problems


def check_mounted_paths_exist(compose: Compose) -> Problems:
    problems = []
    declared = set(compose.get("volumes") or {})
    for name, service in services(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                if not (ROOT / source).exists():
                    problems.append(f"{name}: mounts {source}, which is not in the repository")
            elif source not in declared:
                problems.append(f"{name}: named volume {source!r} is not declared")
    return problems


def check_dockerfile(text: str | None = None) -> Problems:
    """The base image's Airflow is requirements.txt's and its Python the one pyproject.toml requires;
    what it copies exists and passes .dockerignore; dependencies come from the lock."""
    instructions = dockerfile_instructions(text)
    problems = []
    base = [i.arguments for i in instructions if i.keyword == "FROM"]
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    python = re.search(r'requires-python = ">=(\d+\.\d+)', (ROOT / "pyproject.toml").read_text())
    expected = (
        f"apache/airflow:{pinned.group(1) if pinned else '?'}-python{python.group(1) if python else '?'}"
    )
    if base != [expected]:
        problems.append(f"FROM {base}, expected [{expected!r}]")
    runs = " && ".join(i.arguments for i in instructions if i.keyword == "RUN")
    if not re.search(r"pip install .*-r requirements\.txt -c requirements\.lock", runs):
        problems.append(
            "the dependencies are not installed from requirements.txt with the lock as constraints"
        )
    if "pip install --no-cache-dir --no-deps ." not in runs:
        problems.append("bcsync itself is not installed (its provider entry point)")
    problems += check_requirements_agree_with_the_lock()
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for instruction in instructions:
        if instruction.keyword != "COPY":
            continue
        sources = [w for w in instruction.arguments.split() if not w.startswith("--")][:-1]
        for source in sources:
            if not (ROOT / source).exists():
                problems.append(f"COPY {source}: not in the repository")
            elif source not in allowed:
                problems.append(f"COPY {source}: left out of the build context by .dockerignore")
    copied = {
        w
        for i in instructions
        if i.keyword == "COPY"
        for w in i.arguments.split()[-1:]
        if w.startswith("/opt/airflow")
    }
    for folder in ("/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"):
        if folder not in copied:
            problems.append(f"nothing is copied to {folder}")
    return problems


def check_requirements_agree_with_the_lock(
    requirements: str | None = None, lock: str | None = None
) -> Problems:
    """Every pin of requirements.txt (and each extra's package) is the lock's, so installing the runtime
    requirements with the lock as constraints resolves (a disagreement fails the image build)."""
    requirements = requirements or (ROOT / "requirements.txt").read_text()
    lock = lock or (ROOT / "requirements.lock").read_text()
    locked = {
        canonical(m["name"]): m["version"]
        for m in re.finditer(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)", lock, re.MULTILINE)
    }
    problems = []
    for m in re.finditer(
        r"^(?P<name>[A-Za-z0-9._-]+)(\[(?P<extras>[^\]]+)\])?==(?P<version>\S+)", requirements, re.MULTILINE
    ):
        if locked.get(canonical(m["name"])) != m["version"]:
            problems.append(f"{m['name']}=={m['version']}: the lock has {locked.get(canonical(m['name']))}")
        for extra in (m["extras"] or "").split(","):
            if extra and canonical(extra) not in locked:
                problems.append(f"{m['name']}[{extra}]: {extra} is not in the lock")
    return problems


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


CHECKS: dict[str, Callable[[Compose, Compose], Problems]] = {
    "compose spec keys": lambda c, r: check_uses_compose_spec_keys_only(c),
    "celery components": lambda c, r: check_celery_components_are_services(c),
    "celery environment": lambda c, r: check_celery_environment(c),
    "urls point at services": lambda c, r: check_urls_point_at_services(c),
    "contract connections": lambda c, r: check_contract_connections(c),
    "sandbox connections": lambda c, r: check_default_connections_reach_the_sandbox(c),
    "shared secrets": check_one_secret_for_all,
    "healthchecks and depends_on": lambda c, r: check_healthchecks_and_dependencies(c),
    "component healthchecks": lambda c, r: check_component_healthchecks(c),
    "image is the Dockerfile": lambda c, r: check_image_is_the_dockerfile(c),
    "init step": lambda c, r: check_init_step(c),
    "store database": lambda c, r: check_store_database_is_created(c),
    "mounted paths": lambda c, r: check_mounted_paths_exist(c),
}


# -- the real files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", CHECKS)
def test_compose_file_passes(check):
    assert CHECKS[check](load_compose(), load_raw_compose()) == []


def test_dockerfile_passes():
    assert check_dockerfile() == []


def test_every_airflow_service_is_one_of_the_stack():
    compose = load_compose()
    assert {airflow_component(s) for s in airflow_services(compose).values()} == {*CELERY_COMPONENTS, None}


def test_a_tenant_set_in_the_environment_replaces_the_sandbox_connections():
    uri = "business-central://app:secret@api.businesscentral.dynamics.com?tenant_id=contoso"
    compose = load_compose(environment={"AIRFLOW_CONN_BC_DEFAULT": uri, "BCSYNC_JWT_SECRET": "s" * 64})
    for service in airflow_services(compose).values():
        assert environment_of(service)["AIRFLOW_CONN_BC_DEFAULT"] == uri
        assert environment_of(service)["AIRFLOW__API_AUTH__JWT_SECRET"] == "s" * 64


# -- the checks can fail -------------------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _service(name: str, edit: Callable[[dict[str, Any]], None]) -> Edit:
    return lambda compose: edit(compose["services"][name])


def _env(name: str, key: str, value: str | None) -> Edit:
    def edit(service: dict[str, Any]) -> None:
        service["environment"] = dict(service["environment"])
        if value is None:
            del service["environment"][key]
        else:
            service["environment"][key] = value

    return _service(name, edit)


BREAKAGES: list[tuple[str, str, Edit]] = [
    (
        "compose spec keys",
        "a misspelt attribute",
        _service("redis", lambda s: s.update(healthchek=s.pop("healthcheck"))),
    ),
    (
        "compose spec keys",
        "a duration without a unit",
        _service("redis", lambda s: s["healthcheck"].update(interval=10)),
    ),
    ("celery components", "no triggerer", lambda c: c["services"].pop("airflow-triggerer")),
    (
        "celery environment",
        "LocalExecutor",
        _env("airflow-worker", "AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
    ),
    (
        "celery environment",
        "staging on disk",
        _env("airflow-scheduler", "BCSYNC_STAGING_URL", "file:///tmp/x"),
    ),
    (
        "celery environment",
        "staging via another conn",
        _env("airflow-worker", "BCSYNC_STAGING_URL", "s3://other@b/p"),
    ),
    ("celery environment", "no broker", _env("airflow-apiserver", "AIRFLOW__CELERY__BROKER_URL", None)),
    (
        "urls point at services",
        "a broker nowhere",
        _env("airflow-worker", "AIRFLOW__CELERY__BROKER_URL", "redis://cache:6379/0"),
    ),
    (
        "contract connections",
        "no store connection",
        _env("airflow-worker", "AIRFLOW_CONN_BCSYNC_STORE", None),
    ),
    ("contract connections", "BC as http", _env("airflow-worker", "AIRFLOW_CONN_BC_DEFAULT", "http://x")),
    (
        "sandbox connections",
        "another tenant",
        _env("airflow-worker", "AIRFLOW_CONN_DATAVERSE_DEFAULT", "dataverse://a:b@sandbox:8441?tenant_id=x"),
    ),
    ("sandbox connections", "sandbox outside its profile", _service("sandbox", lambda s: s.pop("profiles"))),
    (
        "shared secrets",
        "one component's own JWT secret",
        _env("airflow-worker", "AIRFLOW__API_AUTH__JWT_SECRET", "mine"),
    ),
    (
        "healthchecks and depends_on",
        "no healthcheck",
        _service("airflow-triggerer", lambda s: s.pop("healthcheck")),
    ),
    (
        "healthchecks and depends_on",
        "waits for started only",
        _service("airflow-init", lambda s: s["depends_on"]["postgres"].update(condition="service_started")),
    ),
    (
        "component healthchecks",
        "scheduler health server off",
        _env("airflow-scheduler", "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "False"),
    ),
    (
        "component healthchecks",
        "a worker with a fixed name",
        _service("airflow-worker", lambda s: s.update(container_name="worker")),
    ),
    (
        "image is the Dockerfile",
        "the plain Airflow image",
        _service("airflow-worker", lambda s: s.pop("build")),
    ),
    (
        "init step",
        "no pools import",
        _service(
            "airflow-init",
            lambda s: s.update(
                command=[
                    "bash",
                    "-c",
                    "set -e; airflow db migrate; python -m bcsync.deployment staging-bucket",
                ]
            ),
        ),
    ),
    (
        "init step",
        "a component not waiting for init",
        _service("airflow-dag-processor", lambda s: s["depends_on"].pop("airflow-init")),
    ),
    (
        "store database",
        "store in another database",
        _env("airflow-worker", "AIRFLOW_CONN_BCSYNC_STORE", "postgresql://a:b@postgres/elsewhere"),
    ),
    (
        "mounted paths",
        "a folder not in the repo",
        _service("airflow-worker", lambda s: s.update(volumes=["./nowhere:/x"])),
    ),
    (
        "mounted paths",
        "an undeclared named volume",
        _service("postgres", lambda s: s.update(volumes=["pgdata:/var/lib/postgresql/data"])),
    ),
]


def _deep_copy(compose: Compose) -> Compose:
    return yaml.safe_load(yaml.safe_dump(compose))


@pytest.mark.parametrize(("check", "breakage", "edit"), BREAKAGES, ids=[f"{c}: {b}" for c, b, _ in BREAKAGES])
def test_each_check_fails_on_a_broken_file(check, breakage, edit):
    compose, raw = _deep_copy(load_compose()), _deep_copy(load_raw_compose())
    edit(compose)
    if check == "shared secrets":
        edit(raw)
    assert CHECKS[check](compose, raw) != []


def test_every_check_is_seen_failing():
    assert {check for check, _, _ in BREAKAGES} == set(CHECKS)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("apache/airflow:3.3.2-python3.11", "apache/airflow:3.3.1-python3.11"),
        ("apache/airflow:3.3.2-python3.11", "apache/airflow:3.3.2-python3.12"),
        ("-c requirements.lock", ""),
        ("--no-deps .", "--no-deps bcsync"),
        (
            "COPY --chown=airflow:0 include /opt/airflow/include",
            "COPY --chown=airflow:0 includes /opt/airflow/include",
        ),
        ("COPY --chown=airflow:0 dags /opt/airflow/dags", ""),
    ],
)
def test_dockerfile_check_fails_on_a_broken_dockerfile(old, new):
    text = DOCKERFILE.read_text()
    assert old in text
    assert check_dockerfile(text.replace(old, new)) != []


def test_a_requirement_pinned_apart_from_the_lock_is_found():
    requirements = (ROOT / "requirements.txt").read_text()
    assert check_requirements_agree_with_the_lock(requirements.replace("pandas==", "pandas==0.")) != []
    missing_extra = requirements.replace("amazon[s3fs]", "amazon[s3fs,nosuchextra]")
    assert check_requirements_agree_with_the_lock(missing_extra) != []


def test_an_alias_to_no_anchor_fails_to_load():
    text = COMPOSE_FILE.read_text().replace("<<: *airflow-common\n", "<<: *airflow-commons\n", 1)
    with pytest.raises(yaml.composer.ComposerError, match="undefined alias"):
        load_compose(text)


def test_interpolation_as_compose_does_it():
    assert interpolate("${A:-x${B:-y}z}") == "xyz"
    assert interpolate("a$$b") == "a$b"
    assert interpolate("${A-d}", {"A": ""}) == "" and interpolate("${A:-d}", {"A": ""}) == "d"
    # Only `${` opens a level: a JSON default ends at its first `}`, and the rest stays behind a value
    # that is set. That is why the file gives connections as URIs.
    assert interpolate('${A:-{"k": {"n": 1}}}', {"A": "v"}) == "v}}"
    with pytest.raises(InterpolationError):
        interpolate("${A:?needed}")
