"""Writes the generated seed data into the local services' database, one transaction per chunk."""

from __future__ import annotations

from typing import Any

from sandbox.bc import tables as bc_tables
from sandbox.dataverse import schema as dataverse_schema
from sandbox.dataverse.catalog import Catalog
from sandbox.dataverse.users import application_user, root_business_unit
from sandbox.seed.background import BackgroundGeneration
from sandbox.seed.generate import Batch, SeedGenerator
from sandbox.seed.summary import SeedSummary
from sandbox.settings import SandboxSettings
from sandbox.storage.repository import Repository, UnitOfWork
from sandbox.storage.schema import EntitySchema

# From this size on, generating in a child process (two cores) beats its start-up cost.
BACKGROUND_FROM = 20_000
_BC = {schema.logical_name: schema for schema in bc_tables.SCHEMAS}
_DATAVERSE = {schema.logical_name: schema for schema in dataverse_schema.SCHEMAS}


def seed(repository: Repository, *, settings: SandboxSettings, customers: int, seed: int = 42) -> SeedSummary:
    """Fill the database with a deterministic CRONUS-like company on both sides.

    BC rows go to company `settings.company_id`, which also has its `bcbi_company` row in Dataverse
    (`sandbox.seed.companies`). The root business unit and the application user
    (applicationid = `settings.client_id`) are reused when the Dataverse service already made them.
    The database must not hold seed data already (reset it first).
    """
    with repository.unit_of_work() as work:
        business_unit = root_business_unit(work, Catalog(dataverse_schema.SCHEMAS))
        application_user(work, Catalog(dataverse_schema.SCHEMAS), settings.client_id)
    source: SeedGenerator | BackgroundGeneration
    options = {
        "business_unit_id": business_unit,
        "company_id": settings.company_id,
        "company_name": settings.company_name,
    }
    if customers >= BACKGROUND_FROM:
        source = BackgroundGeneration(seed=seed, customers=customers, **options)
    else:
        source = SeedGenerator(seed=seed, customers=customers, **options)
    for group in source.transactions():
        with repository.unit_of_work() as work:
            for batch in group:
                _write(work, batch, settings.company_id)
    assert source.summary is not None  # set once every group was read
    return source.summary


def _write(work: UnitOfWork, batch: Batch, company: str) -> None:
    if batch.service == "bc":
        schema = _BC[batch.table]
        rows = _upper_case_codes(schema, batch.rows)
        if schema is bc_tables.NO_SERIES:
            _upsert_series(work, rows, company)
            return
        work.insert_many(schema, _without_defaults(schema, rows), company=company, as_system=True)
    else:
        # No actor: the rows carry their own createdby/modifiedby (the human owner).
        schema = _DATAVERSE[batch.table]
        work.insert_many(schema, _without_defaults(schema, batch.rows), as_system=True)


def _without_defaults(schema: EntitySchema, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out values the repository would fill in anyway (a sixth of all values), so it
    validates less: the stored rows are the same."""
    defaults = {a.name: a.default for a in schema.attributes}
    return [{name: value for name, value in row.items() if value != defaults[name]} for row in rows]


def _upper_case_codes(schema: EntitySchema, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BC stores Code fields upper-cased; the BC service does it for API writes, the seed here."""
    codes = [a.name for a in schema.attributes if isinstance(a, bc_tables.CodeAttribute)]
    for row in rows:
        for name in codes:
            value = row.get(name)
            if isinstance(value, str):
                row[name] = value.upper()
    return rows


def _upsert_series(work: UnitOfWork, rows: list[dict[str, Any]], company: str) -> None:
    """The BC service may have created a series already (first number taken); keep its row."""
    for row in rows:
        found = work.find(bc_tables.NO_SERIES, {"code": row["code"]}, company=company)
        if found:
            work.update(
                bc_tables.NO_SERIES, found[0]["id"], {"lastNoUsed": row["lastNoUsed"]}, company=company
            )
        else:
            work.insert(bc_tables.NO_SERIES, row, company=company, as_system=True)
