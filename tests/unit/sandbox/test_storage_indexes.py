"""Secondary (non-unique) keys: the lookups a service's own triggers make seek an index, not scan the
table (CustCont-Update finds a customer's contact relation on every customer update)."""

from __future__ import annotations

import dataclasses

import pytest
from sandbox_test_schemas import COMPANY_A, COMPANY_B, CUSTOMER
from sqlalchemy import event, inspect

from sandbox.bc import tables as bc
from sandbox.storage.database import Database, table_name
from sandbox.storage.repository import Repository

INDEXED = dataclasses.replace(CUSTOMER, indexes={"blockedName": ("blocked", "displayName")})


def _plan(database: Database, schema, values: dict[str, str], company: str) -> str:
    """SQLite's query plan of the statement `find` runs."""
    repository = Repository(database)
    with repository.unit_of_work(read_only=True) as work:
        connection = work._connection
        captured: list[tuple[str, tuple]] = []

        def capture(conn, cursor, statement, parameters, context, executemany) -> None:
            captured.append((statement, parameters))

        event.listen(database.engine, "before_cursor_execute", capture)
        try:
            work.find(schema, values, company=company)
        finally:
            event.remove(database.engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    return " | ".join(str(row[-1]) for row in rows)


def test_find_by_a_secondary_key_seeks_its_index() -> None:
    database = Database("sqlite://", [INDEXED])
    database.create_all()
    repository = Repository(database)
    with repository.unit_of_work() as work:
        work.insert_many(
            INDEXED,
            [{"number": f"C{i}", "displayName": f"Name {i % 7}", "blocked": " "} for i in range(50)],
            company=COMPANY_A,
        )
    index = f"ix_{table_name(INDEXED)}_blocked_name"

    assert index in {i["name"] for i in inspect(database.engine).get_indexes(table_name(INDEXED))}
    plan = _plan(database, INDEXED, {"blocked": " ", "displayName": "name 3"}, COMPANY_A)
    assert f"USING INDEX {index}" in plan, plan
    # Not unique, case-insensitive like every text comparison, and scoped to the company.
    assert len(repository.find(INDEXED, {"blocked": " ", "displayName": "NAME 3"}, company=COMPANY_A)) == 7
    assert repository.find(INDEXED, {"blocked": " ", "displayName": "name 3"}, company=COMPANY_B) == []


def test_an_existing_data_dir_gets_the_new_indexes(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    older = Database(url, [CUSTOMER])
    older.create_all()
    Repository(older).insert(CUSTOMER, {"number": "C1", "displayName": "Kept"}, company=COMPANY_A)
    older.dispose()

    newer = Database(url, [INDEXED])
    newer.create_all()

    names = {i["name"] for i in inspect(newer.engine).get_indexes(table_name(INDEXED))}
    assert f"ix_{table_name(INDEXED)}_blocked_name" in names
    assert Repository(newer).find(INDEXED, {"number": "C1"}, company=COMPANY_A)[0]["displayName"] == "Kept"
    newer.dispose()


@pytest.mark.parametrize(
    ("schema", "values"),
    [
        # customer_contacts._relations: every customer update that changes a contact field.
        (
            bc.CONTACT_BUSINESS_RELATION,
            {"linkToTable": "Customer", "no": "C00010", "businessRelationCode": "CUST"},
        ),
        # customer_contacts._rename_persons: a customer renamed.
        (bc.CONTACT, {"companyNumber": "CT000010", "type": "Person"}),
    ],
)
def test_the_customer_triggers_lookups_seek_an_index(schema, values) -> None:
    database = Database("sqlite://", bc.SCHEMAS)
    database.create_all()

    plan = _plan(database, schema, values, COMPANY_A)
    assert f"USING INDEX ix_{table_name(schema)}_" in plan, plan
    assert "_company_id" not in plan.split("USING INDEX ")[1].split()[0], plan
