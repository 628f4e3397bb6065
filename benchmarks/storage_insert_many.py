"""Rows per second for `Repository.insert_many` into a fresh SQLite file (the seed's bulk path).

Usage: PYTHONPATH=plugins:include python benchmarks/storage_insert_many.py [rows] [batch]
"""

from __future__ import annotations

import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sandbox.storage.database import Database
from sandbox.storage.repository import Repository
from sandbox.storage.schema import Attribute, AttributeType, EntitySchema

T = AttributeType
ACCOUNT = EntitySchema(
    service="dataverse",
    logical_name="account",
    set_name="accounts",
    key="accountid",
    attributes=(
        Attribute("accountid", T.GUID, read_only=True),
        Attribute("name", T.STRING, max_length=160, required=True),
        Attribute("accountnumber", T.STRING, max_length=20),
        Attribute("telephone1", T.STRING, max_length=50),
        Attribute("address1_city", T.STRING, max_length=80),
        Attribute("creditlimit", T.MONEY),
        Attribute("numberofemployees", T.INTEGER),
        Attribute("donotemail", T.BOOLEAN, default=False),
        Attribute("customertypecode", T.CHOICE, options=(1, 2, 3)),
        Attribute("parentcustomerid", T.LOOKUP),
        Attribute("createdby", T.LOOKUP, read_only=True),
        Attribute("modifiedby", T.LOOKUP, read_only=True),
        Attribute("createdon", T.DATETIME, read_only=True),
        Attribute("modifiedon", T.DATETIME, read_only=True),
    ),
    modified_on="modifiedon",
    created_on="createdon",
    alternate_keys={"accountnumber": ("accountnumber",)},
)
ACTOR = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"


def account(index: int) -> dict[str, object]:
    return {
        "name": f"Customer {index:07d}",
        "accountnumber": f"C{index:07d}",
        "telephone1": f"+1 425 555 {index % 10000:04d}",
        "address1_city": "Redmond",
        "creditlimit": Decimal(index % 100000) / 100,
        "numberofemployees": index % 500,
        "customertypecode": 1 + index % 3,
    }


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    rows = [account(index) for index in range(total)]
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{Path(directory) / 'bench.db'}", [ACCOUNT])
        database.create_all()
        repository = Repository(database)
        started = time.perf_counter()
        for start in range(0, total, batch):
            repository.insert_many(ACCOUNT, rows[start : start + batch], actor=ACTOR)
        elapsed = time.perf_counter() - started
        assert repository.count(ACCOUNT) == total
        database.dispose()
    print(f"insert_many: {total} rows in batches of {batch}: {elapsed:.2f} s, {total / elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main()
