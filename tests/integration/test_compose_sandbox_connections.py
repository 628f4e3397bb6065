"""docker-compose.yaml's default Connections reach the local services the `sandbox` profile runs: a
sandbox listening on a host other than the loopback defaults (as `sandbox` in Compose), its CA trusted
from the data dir, a token from its Entra ID, then a call to each service through bcsync's hooks."""

from __future__ import annotations

from urllib.parse import quote

from bcsync.hooks import BusinessCentralHook, DataverseHook
from bcsync_dev.sandbox_connections import connection_env_var
from sandbox.launcher import running_sandbox
from tests.dags.compose_file import environment_of, load_compose

COMPOSE_HOST = "sandbox"
COMPOSE_CA = "/opt/airflow/sandbox/ca.pem"
COMPOSE_PORTS = {"entra": 8440, "dataverse": 8441, "bc": 8442}
HOST = "127.0.0.2"  # a loopback address of its own: the certificate must name it, as it names `sandbox`


def moved(uri: str, sandbox) -> str:
    """`uri` with the compose network's host, ports and CA path replaced by the running sandbox's."""
    for service, port in COMPOSE_PORTS.items():
        here = f"{HOST}:{getattr(sandbox.settings, f'{service}_port')}"
        uri = uri.replace(f"@{COMPOSE_HOST}:{port}", f"@{here}")  # the service's own host
        uri = uri.replace(
            quote(f"//{COMPOSE_HOST}:{port}", safe=""), quote(f"//{here}", safe="")
        )  # authority
    return uri.replace(quote(COMPOSE_CA, safe=""), quote(str(sandbox.ca_file), safe=""))


def test_default_connections_authenticate_and_read_both_services(tmp_path, monkeypatch):
    env = environment_of(load_compose()["services"]["airflow-worker"])
    with running_sandbox(tmp_path / "sandbox", env={"SANDBOX_HOST": HOST}, seed_customers=10) as sandbox:
        for conn_id in (BusinessCentralHook.default_conn_name, DataverseHook.default_conn_name):
            variable = connection_env_var(conn_id)
            monkeypatch.setenv(variable, moved(env[variable], sandbox))
        assert DataverseHook().whoami()["UserId"]
        companies = {company["id"] for company in BusinessCentralHook().companies()}
        assert sandbox.company_id in companies
