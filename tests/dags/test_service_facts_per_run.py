"""A run's tasks ask Dataverse once, not once per task, which bulk messages the table has and which
`bcbi_company` row is BC's company: the answers are kept in the run's staging folder (dag.test, every
task with services of its own, as in a task process of its own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bcsync_dev.local_runs import airflow_environment, run_in_subprocess
from sandbox.launcher import RunningSandbox

LOOKUPS = ("/api/data/v9.2/sdkmessagefilters", "/api/data/v9.2/bcbi_companies")


def test_load_partitions_reuse_what_the_run_learned(
    tmp_path: Path, migrate_airflow_db: Callable[..., None], sandbox: RunningSandbox
):
    sandbox.reset()
    try:
        env = airflow_environment(sandbox, tmp_path)
        migrate_airflow_db(env, tmp_path / "migrate.log")
        run_in_subprocess(
            ["bcsync_salespeople", "bcsync_currency"], {"full_sync": True}, env, tmp_path / "deps.log"
        )
        sandbox.admin("dataverse", "POST", "stats/reset")
        conf = {"full_sync": True, "direction": "ToIntegrationTable", "partition_size": 1}
        run_in_subprocess(["bcsync_customer"], conf, env, tmp_path / "customer.log")
        routes = sandbox.admin("dataverse", "GET", "stats")["by_route"]
    finally:
        sandbox.reset()

    log = (tmp_path / "customer.log").read_text()
    partitions = log.count("bcsync code time: CUSTOMER load")  # load_crm and load_bc, per map index
    upserts = sum(
        routes.get("POST /api/data/v9.2/accounts/Microsoft.Dynamics.CRM.UpsertMultiple", {}).values()
    )
    assert partitions >= 8 and upserts >= 2, (partitions, routes)  # several partitions wrote accounts
    asked = {path: sum(routes.get(f"GET {path}", {}).values()) for path in LOOKUPS}
    # UpsertMultiple needs CreateMultiple and UpdateMultiple: two filters, asked by the first load only;
    # the company row, by the Sales extract only.
    assert asked == {LOOKUPS[0]: 2, LOOKUPS[1]: 1}, asked
