"""The repository basics on PostgreSQL, in a throw-away schema of the test database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sandbox_test_schemas import ACCOUNT, COMPANY_A, CUSTOMER, SteppingClock
from sqlalchemy import create_engine, text

from sandbox.storage.database import Database
from sandbox.storage.errors import DuplicateKey, VersionMismatch
from sandbox.storage.repository import Repository

SERVER = "postgresql://postgres@127.0.0.1:5432/test"

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_repository() -> Iterator[Repository]:
    schema = f"sandbox_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(SERVER.replace("postgresql:", "postgresql+psycopg2:"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(f"{SERVER}?options=-csearch_path%3D{schema}", [ACCOUNT, CUSTOMER])
    try:
        database.create_all()
        yield Repository(database, clock=SteppingClock())
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_repository_basics_on_postgresql(pg_repository: Repository) -> None:
    repository = pg_repository
    row = repository.insert(ACCOUNT, {"name": "Contoso", "accountnumber": "ABC", "creditlimit": "1234.56789"})
    assert repository.get(ACCOUNT, row["accountid"]) == row
    assert repository.get(ACCOUNT, row["accountid"])["creditlimit"] == Decimal("1234.56789")
    with pytest.raises(DuplicateKey):
        repository.insert(ACCOUNT, {"name": "Other", "accountnumber": "abc"})

    updated = repository.update(ACCOUNT, row["accountid"], {"name": "Contoso Ltd"}, expected_version=1)
    with pytest.raises(VersionMismatch):
        repository.update(ACCOUNT, row["accountid"], {"name": "lost"}, expected_version=1)
    repository.insert_many(ACCOUNT, [{"name": f"account {i}", "accountnumber": None} for i in range(7)])
    repository.delete(ACCOUNT, row["accountid"], expected_version=updated["_version"])

    changed, deleted, current = repository.changes_since(ACCOUNT, updated["_version"])
    assert len(changed) == 7
    assert deleted == [row["accountid"]]
    assert current == repository.current_version() == 10

    # Keyset pages with NULLs lowest and text compared case-insensitively, as on SQLite.
    order = [("accountnumber", True), ("name", False)]
    whole = repository.query(ACCOUNT, order_by=order)
    paged: list[dict] = []
    after = None
    while page := repository.query(ACCOUNT, order_by=order, limit=3, after=after):
        paged.extend(page)
        after = [page[-1]["accountnumber"], page[-1]["name"], page[-1]["accountid"]]
    assert [r["accountid"] for r in paged] == [r["accountid"] for r in whole]
    assert len(paged) == 7

    repository.insert(CUSTOMER, {"number": "10000"}, company=COMPANY_A)
    assert repository.find(CUSTOMER, {"number": "10000"}, company=COMPANY_A)[0]["number"] == "10000"
