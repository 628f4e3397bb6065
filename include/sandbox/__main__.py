"""Command line of the local services: `python -m sandbox serve | seed | info | edit | delete` (settings
from SANDBOX_*)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from sandbox.settings import SandboxSettings, SettingsError
from sandbox.storage.repository import Repository
from sandbox.storage.schema import EntitySchema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run Entra ID, Dataverse and Business Central over HTTPS")
    seed = commands.add_parser("seed", help="fill the database with deterministic CRONUS-like data")
    seed.add_argument("--customers", type=int, required=True, help="number of customers (10 to 1,000,000)")
    seed.add_argument("--seed", type=int, default=None, help="random seed (default SANDBOX_SEED)")
    seed.add_argument("--reset", action="store_true", help="empty every table first")
    commands.add_parser("info", help="print URLs, identities, Airflow connections and record counts")
    edit = commands.add_parser(
        "edit",
        help="change a record as a user does in BC or Sales (modified-on moves); key 'new' creates one",
        description="Example: edit bc currencyExchangeRate new currencyCode=CHF startingDate=2026-01-01 "
        "exchangeRateAmount=100 relationalExchangeRateAmount=112.5",
    )
    delete = commands.add_parser("delete", help="delete a record as a user does in BC or Sales")
    for command in (edit, delete):
        command.add_argument("service", help="bc or dataverse")
        command.add_argument("table", help="logical or entity-set name: customer, accounts, currency, ...")
        command.add_argument("key", help="the record's id, its number/code/name, or field:value")
    edit.add_argument(
        "assignments", nargs="+", metavar="field=value", help="text as is; numbers, true/false, null"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = SandboxSettings.from_env()
        if args.command == "serve":
            return serve(settings)
        if args.command == "seed":
            return seed_command(settings, customers=args.customers, seed=args.seed, reset=args.reset)
        if args.command in ("edit", "delete"):
            return edit_command(settings, args)
        return info(settings)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def serve(settings: SandboxSettings) -> int:
    from sandbox.server import build_sandbox, serve

    sandbox = build_sandbox(settings)
    asyncio.run(serve(sandbox))
    return 0


def seed_command(settings: SandboxSettings, *, customers: int, seed: int | None, reset: bool) -> int:
    from sandbox.server import build_sandbox, load_service_modules, open_storage, seed_database

    if customers < 0:
        print("error: --customers must be >= 0", file=sys.stderr)
        return 2
    if reset:
        dataverse, bc = load_service_modules()
        database, _ = open_storage(settings, tuple(dataverse.SCHEMAS) + tuple(bc.SCHEMAS))
        database.reset()
        database.dispose()
    # Building the apps creates the tables and the BC company rows the seed attaches data to.
    sandbox = build_sandbox(settings, seed_if_empty=False)
    seed_database(sandbox, customers=customers, seed=seed)
    _print_counts(sandbox.repository, tuple(_all_schemas()))
    sandbox.database.dispose()
    return 0


def edit_command(settings: SandboxSettings, args: argparse.Namespace) -> int:
    """`edit` / `delete`: one record through the services' storage; prints it as stored (or deleted)."""
    from sandbox import edit
    from sandbox.server import open_storage
    from sandbox.storage.errors import StorageError

    schemas = tuple(_all_schemas())
    database, repository = open_storage(settings, schemas)
    try:
        target = edit.target_for(settings, edit.find_schema(schemas, args.service, args.table))
        if args.command == "delete":
            row = edit.delete(repository, target, args.key)
            print(f"deleted {target.schema.logical_name} {row[target.schema.key]}")
        else:
            row = edit.edit(repository, target, args.key, args.assignments)
            print(edit.printable(target.schema, row))
    except (edit.EditError, StorageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    return 0


def info(settings: SandboxSettings) -> int:
    from sandbox.server import open_storage

    bc_api = f"{settings.bc_url}/v2.0/{settings.tenant_id}/{settings.bc_environment}/api/v2.0"
    print(f"Entra ID token endpoint  {settings.token_url}")
    print(f"Dataverse Web API        {settings.dataverse_url}/api/data/v9.2/")
    print(f"  token scope            {settings.dataverse_resource}/.default")
    print(f"Business Central API     {bc_api}/")
    print(f"  company                {settings.company_name} ({settings.company_id})")
    print(f"  token scope            {settings.bc_resource}/.default")
    print(f"Tenant id                {settings.tenant_id}")
    print(f"Client id                {settings.client_id}")
    print(f"Client secret            {settings.client_secret}  (local only)")
    print(f"CA certificate           {settings.ca_file.resolve()}")
    print(f"Database                 {settings.db_url}")
    print("\nAirflow connections:")
    for conn_id, connection in airflow_connections(settings).items():
        print(f"  AIRFLOW_CONN_{conn_id.upper()}='{json.dumps(connection)}'")
    schemas = tuple(_all_schemas())
    database, repository = open_storage(settings, schemas)
    print("\nRecords:")
    _print_counts(repository, schemas)
    database.dispose()
    return 0


def airflow_connections(settings: SandboxSettings) -> dict[str, dict[str, Any]]:
    """`bc_default` and `dataverse_default` in Airflow's JSON form, as bcsync's hooks read them."""
    common = {
        "tenant_id": settings.tenant_id,
        "authority": f"{settings.entra_url}/{settings.tenant_id}",
        "ca_bundle": str(settings.ca_file.resolve()),
    }
    return {
        "bc_default": {
            "conn_type": "business_central",
            "host": settings.bc_url,
            "login": settings.client_id,
            "password": settings.client_secret,
            "extra": {**common, "environment": settings.bc_environment, "company_id": settings.company_id},
        },
        "dataverse_default": {
            "conn_type": "dataverse",
            "host": settings.dataverse_url,
            "login": settings.client_id,
            "password": settings.client_secret,
            "extra": common,
        },
    }


def _all_schemas() -> list[EntitySchema]:
    from sandbox.server import load_service_modules

    dataverse, bc = load_service_modules()
    return [*dataverse.SCHEMAS, *bc.SCHEMAS]


def _print_counts(repository: Repository, schemas: tuple[EntitySchema, ...]) -> None:
    for schema in schemas:
        print(f"  {schema.service:<9} {schema.set_name:<28} {repository.count(schema):>10,}")


if __name__ == "__main__":
    sys.exit(main())
