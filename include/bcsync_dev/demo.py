"""`make demo`: a real synchronization on the embedded default (local services + SQLite).

1. starts the local Entra ID, Dataverse and Business Central services with seed data;
2. runs every job the registry has a DAG for (dependency order) as a full synchronization: shared
   records are coupled by matching, the rest created on the other side;
3. changes a record on each side, then runs the jobs again as scheduled runs would (incremental);
printing BC's job log (counters per job and direction, every job that ran) after each round.
Everything it creates lives under var/demo/.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # include/bcsync_dev/… → the checkout
WORK = ROOT / "var" / "demo"
COUNTERS = ("Inserted", "Modified", "Deleted", "Unchanged", "Skipped", "Failed", "Coupled")


def main() -> int:
    customers = int(os.environ.get("BCSYNC_DEMO_CUSTOMERS", "200"))
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "logs").mkdir(parents=True)

    from bcsync_dev.local_runs import airflow_environment, migrate_airflow_db
    from sandbox.launcher import start_sandbox

    print(f"Starting the local services with seed data for {customers} customers ...")
    sandbox = start_sandbox(WORK / "sandbox", seed_customers=customers, timeout=300)
    try:
        env = airflow_environment(sandbox, WORK)
        os.environ.update(env)
        _show_services(sandbox)
        print("Initialising Airflow's metadata database (SQLite) ...")
        migrate_airflow_db(env, WORK / "logs" / "airflow-db-migrate.log")

        from bcsync.registry import load_registry

        enabled = load_registry().enabled_jobs  # every job with a DAG, dependencies first
        jobs, dag_ids = [m.name for m in enabled], [m.dag_id for m in enabled]
        print(f"Jobs: {', '.join(jobs)}")

        started = datetime.now(UTC)
        _round(
            "1. Full synchronization (couple by matching, create the rest)", dag_ids, {"full_sync": True}, env
        )
        _print_job_log(started, jobs)

        changes = _change_one_record_on_each_side(sandbox)
        print("\nChanges made:\n  " + "\n  ".join(changes))
        started = datetime.now(UTC)
        _round("2. Scheduled run (incremental, from the watermarks)", dag_ids, {}, env)
        _print_job_log(started, jobs)
        print(f"\nTask logs: {WORK / 'logs'}   Coupling store: {WORK / 'store.db'}")
    finally:
        sandbox.stop()
    return 0


def _round(title: str, dag_ids: list[str], conf: dict, env: dict[str, str]) -> None:
    from bcsync_dev.local_runs import run_in_subprocess

    print(f"\n== {title} ==")
    began = time.monotonic()
    states = run_in_subprocess(dag_ids, conf, env, WORK / "logs" / f"{title.split('.')[0]}-runs.log")
    print(
        f"   DAG runs ({time.monotonic() - began:.0f} s): " + ", ".join(f"{d} {s}" for d, s in states.items())
    )


def _print_job_log(since: datetime, order: list[str]) -> None:
    """Every job row written since `since`, jobs in `order` (dependencies first), To before From."""
    from bcsync.store.store import CouplingStore

    store = CouplingStore(f"sqlite:///{WORK / 'store.db'}")
    jobs = store.jobs(limit=1000)
    jobs = jobs[jobs["started_on"] >= since].copy()
    # BC's order: jobs in dependency order, and within a job To (BC → Sales) before From.
    jobs["order"] = jobs["mapping"].map({name: i for i, name in enumerate(order)}).fillna(len(order))
    jobs = jobs.sort_values(["order", "direction"], ascending=[True, False])
    width = max([len("job"), *map(len, order), *map(len, jobs["mapping"])])  # linked mappings too
    header = f"   {'job':<{width}} {'direction':<21}" + "".join(f"{c:>10}" for c in COUNTERS)
    print(header)
    print("   " + "-" * (len(header) - 3))
    for job in jobs.to_dict("records"):
        counts = "".join(f"{int(job.get(c.lower(), 0) or 0):>10}" for c in COUNTERS)
        print(f"   {job['mapping']:<{width}} {job['direction']:<21}{counts}")
    errors = store.open_errors()
    if len(errors):
        print(f"   open record errors: {len(errors)}, e.g. {errors.iloc[-1]['message']}")
    store.dispose()


def _change_one_record_on_each_side(sandbox) -> list[str]:
    """Edit a coupled customer in BC (through its API) and a coupled account in Sales as a Sales user.

    The Sales edit is written as one of the seed's human users, straight into the sandbox's store:
    an edit through the API would be made by bcsync's own application user, whose changes bcsync
    ignores on purpose (echo prevention).
    """
    from bcsync.hooks.business_central import BusinessCentralHook
    from bcsync.store.store import CouplingStore

    store = CouplingStore(f"sqlite:///{WORK / 'store.db'}")
    couplings = store.couplings("CUSTOMER")
    store.dispose()
    # Pairs the full sync created and wrote successfully: their lookups (salesperson, currency) resolve.
    healthy = couplings[(couplings["coupled_by"] == "create") & (couplings["to_crm_result"] == "Success")]
    first, second = healthy.iloc[0], healthy.iloc[1]

    bc = BusinessCentralHook()
    customer = bc.get("customers", first["bc_id"], select=["id", "number", "displayName", "phoneNumber"])
    bc.update("customers", first["bc_id"], {"phoneNumber": "+1 425 555 0199"}, etag=customer["@odata.etag"])
    account_name, old_city = _edit_account_as_sales_user(
        sandbox, second["crm_id"], {"address1_city": "Redmond"}
    )
    return [
        f"BC customer {customer['number']} {customer['displayName']}: Phone No. → +1 425 555 0199 (BC API)",
        f"Sales account {account_name}: City {old_city} → Redmond (by a Sales user)",
    ]


def _edit_account_as_sales_user(sandbox, account_id: str, values: dict) -> tuple[str, str]:
    from sandbox.dataverse import SCHEMAS
    from sandbox.storage.database import Database
    from sandbox.storage.repository import Repository

    schemas = {schema.logical_name: schema for schema in SCHEMAS}
    database = Database(sandbox.db_url, SCHEMAS)
    repository = Repository(database)
    users = repository.find(schemas["systemuser"], {"isintegrationuser": False, "applicationid": None})
    before = repository.get(schemas["account"], account_id)
    repository.update(schemas["account"], account_id, values, actor=users[0]["systemuserid"])
    database.dispose()
    return before["name"], before.get("address1_city")


def _show_services(sandbox) -> None:
    print(f"   Entra ID:         {sandbox.entra_url}/{sandbox.tenant_id}/oauth2/v2.0/token")
    print(f"   Dataverse:        {sandbox.dataverse_api}/")
    print(f"   Business Central: {sandbox.bc_api}/")
    summary = sandbox.data_dir / "seed-summary.json"
    if summary.exists():
        print(f"   seed: {summary.read_text()[:400]}")


if __name__ == "__main__":
    sys.exit(main())
