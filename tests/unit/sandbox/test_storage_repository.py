"""The repository contract the Dataverse and BC services build on (docs/architecture.md, Storage contract)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sandbox_test_schemas import ACCOUNT, COMPANY_A, COMPANY_B, CUSTOMER, SteppingClock
from sqlalchemy import inspect

from sandbox.storage.database import Database
from sandbox.storage.errors import DuplicateKey, NotFound, ValidationFailed, VersionMismatch
from sandbox.storage.repository import Repository

USER = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
OTHER_USER = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def test_tables_are_named_by_service_and_snake_case_logical_name(database: Database) -> None:
    tables = set(inspect(database.engine).get_table_names())
    assert {"dataverse_account", "bc_customer", "tombstones", "row_versions"} <= tables
    columns = {c["name"] for c in inspect(database.engine).get_columns("dataverse_account")}
    assert {"accountid", "_parentcustomerid_value", "_version"} <= columns
    assert "_company_id" in {c["name"] for c in inspect(database.engine).get_columns("bc_customer")}


def test_sqlite_file_database_uses_wal_and_a_busy_timeout(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sandbox.db'}", [ACCOUNT])
    db.create_all()
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -64 * 1024  # KiB
    db.dispose()


def test_insert_generates_a_lowercase_uuid4_key_and_audit_fields(
    repository: Repository, clock: SteppingClock
) -> None:
    row = repository.insert(ACCOUNT, {"name": "Contoso"}, actor=USER)
    assert GUID.match(row["accountid"])
    assert row["modifiedon"] == row["createdon"] == clock.now
    assert row["_createdby_value"] == row["_modifiedby_value"] == USER
    assert row["donotemail"] is False  # the attribute's default
    assert repository.get(ACCOUNT, row["accountid"]) == row


def test_insert_keeps_a_client_supplied_key_lowercased(repository: Repository) -> None:
    row = repository.insert(ACCOUNT, {"accountid": "ABCDEF01-2345-6789-ABCD-EF0123456789", "name": "A"})
    assert row["accountid"] == "abcdef01-2345-6789-abcd-ef0123456789"
    assert repository.get(ACCOUNT, "ABCDEF01-2345-6789-ABCD-EF0123456789") is not None


def test_money_round_trips_exactly_with_five_decimals(repository: Repository) -> None:
    row = repository.insert(ACCOUNT, {"name": "A", "creditlimit": "9999999999999.99999"})
    stored = repository.get(ACCOUNT, row["accountid"])
    assert stored is not None
    assert stored["creditlimit"] == Decimal("9999999999999.99999")
    repository.update(ACCOUNT, row["accountid"], {"creditlimit": 0.00001})
    assert repository.get(ACCOUNT, row["accountid"])["creditlimit"] == Decimal("0.00001")


def test_every_write_takes_the_next_database_wide_version(repository: Repository) -> None:
    account = repository.insert(ACCOUNT, {"name": "A"})
    customer = repository.insert(CUSTOMER, {"number": "C1"}, company=COMPANY_A)
    updated = repository.update(ACCOUNT, account["accountid"], {"name": "B"})
    assert [account["_version"], customer["_version"], updated["_version"]] == [1, 2, 3]
    repository.delete(CUSTOMER, customer["id"], company=COMPANY_A)
    assert repository.current_version() == 4


def test_update_sets_modified_fields_and_keeps_created_ones(repository: Repository, clock) -> None:
    row = repository.insert(ACCOUNT, {"name": "A"}, actor=USER)
    created = clock.now
    clock.advance(5)
    updated = repository.update(ACCOUNT, row["accountid"], {"numberofemployees": 7}, actor=OTHER_USER)
    assert updated["modifiedon"] == clock.now
    assert updated["createdon"] == created
    assert (updated["_createdby_value"], updated["_modifiedby_value"]) == (USER, OTHER_USER)
    assert repository.get(ACCOUNT, row["accountid"]) == updated


def test_stale_expected_version_is_rejected_and_nothing_changes(repository: Repository) -> None:
    row = repository.insert(ACCOUNT, {"name": "A"})
    repository.update(ACCOUNT, row["accountid"], {"name": "B"})
    with pytest.raises(VersionMismatch) as raised:
        repository.update(ACCOUNT, row["accountid"], {"name": "C"}, expected_version=row["_version"])
    assert (raised.value.expected, raised.value.actual) == (1, 2)
    with pytest.raises(VersionMismatch):
        repository.delete(ACCOUNT, row["accountid"], expected_version=row["_version"])
    assert repository.get(ACCOUNT, row["accountid"])["name"] == "B"


def test_update_or_delete_of_a_missing_row_is_not_found(repository: Repository) -> None:
    missing = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(NotFound):
        repository.update(ACCOUNT, missing, {"name": "x"})
    with pytest.raises(NotFound):
        repository.delete(ACCOUNT, missing)


def test_changes_since_reports_changed_rows_and_deleted_keys(repository: Repository) -> None:
    first = repository.insert(ACCOUNT, {"name": "first"})
    second = repository.insert(ACCOUNT, {"name": "second"})
    _, _, token = repository.changes_since(ACCOUNT, 0)
    repository.update(ACCOUNT, first["accountid"], {"name": "first again"})
    repository.delete(ACCOUNT, second["accountid"])
    third = repository.insert(ACCOUNT, {"name": "third"})

    changed, deleted, current = repository.changes_since(ACCOUNT, token)

    assert [row["name"] for row in changed] == ["first again", "third"]
    assert deleted == [second["accountid"]]
    assert current == third["_version"]
    assert repository.changes_since(ACCOUNT, current) == ([], [], current)


def test_key_deleted_then_created_again_is_a_change_not_a_deletion(repository: Repository) -> None:
    key = "abcdef01-2345-6789-abcd-ef0123456789"
    repository.insert(ACCOUNT, {"accountid": key, "name": "A"})
    repository.delete(ACCOUNT, key)
    repository.insert(ACCOUNT, {"accountid": key, "name": "A again"})
    changed, deleted, _ = repository.changes_since(ACCOUNT, 0)
    assert [row["accountid"] for row in changed] == [key]
    assert deleted == []


def test_company_scoped_rows_are_invisible_to_other_companies(repository: Repository) -> None:
    row = repository.insert(CUSTOMER, {"number": "10000"}, company=COMPANY_A)
    repository.insert(CUSTOMER, {"number": "10000"}, company=COMPANY_B)  # same number, other company
    assert repository.get(CUSTOMER, row["id"], company=COMPANY_B) is None
    assert repository.count(CUSTOMER, company=COMPANY_A) == 1
    with pytest.raises(NotFound):
        repository.delete(CUSTOMER, row["id"], company=COMPANY_B)
    with pytest.raises(ValueError, match="company is required"):
        repository.insert(CUSTOMER, {"number": "1"})


def test_keyset_paging_over_tied_modified_on_returns_every_row_once(repository: Repository, clock) -> None:
    # Three timestamps shared by 25 rows: pages must break ties by key, not by luck.
    rows = []
    for index in range(25):
        if index % 10 == 0:
            clock.advance()
        rows.append(repository.insert(ACCOUNT, {"name": f"account {index}"}))
    order = [("modifiedon", False)]
    seen: list[str] = []
    after = None
    while True:
        page = repository.query(ACCOUNT, order_by=order, limit=4, after=after)
        if not page:
            break
        seen.extend(row["accountid"] for row in page)
        after = [page[-1]["modifiedon"], page[-1]["accountid"]]
    assert sorted(seen) == sorted(row["accountid"] for row in rows)
    assert len(seen) == len(set(seen)) == 25
    expected = sorted(rows, key=lambda row: (row["modifiedon"], row["accountid"]))
    assert seen == [row["accountid"] for row in expected]


def test_keyset_paging_descending_with_nulls_and_case_insensitive_text(repository: Repository) -> None:
    names = ["b", "A", "a", "C", "B"]
    for index, name in enumerate(names):
        repository.insert(ACCOUNT, {"name": name, "accountnumber": None if index % 2 else f"N{index}"})
    for order in ([("name", True)], [("accountnumber", True)], [("accountnumber", False)]):
        whole = repository.query(ACCOUNT, order_by=order)
        paged: list[dict] = []
        after = None
        while page := repository.query(ACCOUNT, order_by=order, limit=2, after=after):
            paged.extend(page)
            attribute = order[0][0]
            after = [page[-1][attribute], page[-1]["accountid"]]
        assert [row["accountid"] for row in paged] == [row["accountid"] for row in whole]
    by_name = repository.query(ACCOUNT, order_by=[("name", False)])
    assert [row["name"].lower() for row in by_name] == ["a", "a", "b", "b", "c"]


def test_after_must_carry_the_order_values_and_the_key(repository: Repository) -> None:
    with pytest.raises(ValueError, match="expected 2"):
        repository.query(ACCOUNT, order_by=[("name", False)], after=["x"])


def test_unit_of_work_rolls_back_everything_on_an_exception(repository: Repository) -> None:
    with pytest.raises(RuntimeError), repository.unit_of_work() as work:
        work.insert(ACCOUNT, {"name": "never"})
        work.insert(CUSTOMER, {"number": "never"}, company=COMPANY_A)
        raise RuntimeError("change set failed")
    assert repository.count(ACCOUNT) == 0
    assert repository.count(CUSTOMER) == 0
    assert repository.current_version() == 0


def test_unit_of_work_sees_its_own_writes(repository: Repository) -> None:
    with repository.unit_of_work() as work:
        row = work.insert(ACCOUNT, {"name": "A"})
        assert work.get(ACCOUNT, row["accountid"]) == row
        work.update(ACCOUNT, row["accountid"], {"name": "B"}, expected_version=row["_version"])
    assert repository.get(ACCOUNT, row["accountid"])["name"] == "B"


def test_duplicate_primary_key_is_rejected_naming_the_key(repository: Repository) -> None:
    row = repository.insert(ACCOUNT, {"name": "A"})
    with pytest.raises(DuplicateKey) as raised:
        repository.insert(ACCOUNT, {"accountid": row["accountid"], "name": "B"})
    assert raised.value.key_name == "accountid"
    assert raised.value.values == {"accountid": row["accountid"]}


def test_duplicate_alternate_key_is_rejected_case_insensitively(repository: Repository) -> None:
    first = repository.insert(ACCOUNT, {"name": "A", "accountnumber": "ABC"})
    other = repository.insert(ACCOUNT, {"name": "B", "accountnumber": "XYZ"})
    with pytest.raises(DuplicateKey) as raised:
        repository.insert(ACCOUNT, {"name": "C", "accountnumber": "abc"})
    assert raised.value.key_name == "accountnumber_key"
    with pytest.raises(DuplicateKey):
        repository.update(ACCOUNT, other["accountid"], {"accountnumber": "Abc"})
    # Writing a row's own alternate key again is no clash.
    repository.update(ACCOUNT, first["accountid"], {"accountnumber": "ABC"})


def test_find_matches_attribute_values_case_insensitively(repository: Repository) -> None:
    row = repository.insert(ACCOUNT, {"name": "Contoso", "accountnumber": "ABC-1"})
    assert repository.find(ACCOUNT, {"accountnumber": "abc-1"}) == [row]
    assert repository.find(ACCOUNT, {"accountnumber": "abc-2"}) == []


def test_insert_many_writes_all_rows_with_consecutive_versions(repository: Repository) -> None:
    rows = repository.insert_many(ACCOUNT, [{"name": f"A{i}", "accountnumber": f"N{i}"} for i in range(50)])
    assert [row["_version"] for row in rows] == list(range(1, 51))
    assert repository.count(ACCOUNT) == 50
    assert repository.get(ACCOUNT, rows[17]["accountid"]) == rows[17]


def test_insert_many_is_all_or_nothing_on_a_duplicate(repository: Repository) -> None:
    existing = repository.insert(ACCOUNT, {"name": "A", "accountnumber": "N1"})
    with pytest.raises(DuplicateKey) as raised:
        repository.insert_many(
            ACCOUNT, [{"name": "B", "accountnumber": "N2"}, {"name": "C", "accountnumber": "n1"}]
        )
    assert raised.value.key_name == "accountnumber_key"
    with pytest.raises(DuplicateKey) as raised:
        repository.insert_many(ACCOUNT, [{"name": "D"}, {"accountid": existing["accountid"], "name": "E"}])
    assert raised.value.values == {"accountid": existing["accountid"]}
    with pytest.raises(DuplicateKey):
        repository.insert_many(
            ACCOUNT, [{"name": "F", "accountnumber": "Z"}, {"name": "G", "accountnumber": "z"}]
        )
    assert repository.count(ACCOUNT) == 1


@pytest.mark.parametrize(
    ("values", "attribute", "message"),
    [
        ({"name": "A", "colour": "red"}, "colour", "no attribute named 'colour'"),
        ({"name": "A", "modifiedon": "2024-01-01T00:00:00Z"}, "modifiedon", "read-only"),
        ({"name": "x" * 21}, "name", "21 characters long; the maximum length is 20"),
        ({"name": "A", "parentcustomerid": "not-a-guid"}, "parentcustomerid", "not a GUID"),
        ({"name": "A", "creditlimit": "lots"}, "creditlimit", "not a number"),
        ({"name": "A", "numberofemployees": "12"}, "numberofemployees", "expected a whole number"),
        ({"name": "A", "lastcontacted": "yesterday"}, "lastcontacted", "not an ISO 8601 date-time"),
        ({"name": "A", "opendate": "2024-02-30"}, "opendate", "no such day"),
        ({"name": "A", "customertypecode": 9}, "customertypecode", "not a valid option (allowed: 1, 2, 3)"),
        ({"name": "A", "donotemail": "yes"}, "donotemail", "expected true or false"),
        ({"accountnumber": "N1"}, "name", "a value is required"),
        ({"name": None}, "name", "a value is required"),
    ],
)
def test_invalid_values_are_rejected_with_a_readable_reason(
    repository: Repository, values: dict, attribute: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        repository.insert(ACCOUNT, values)
    assert raised.value.attribute == attribute
    assert message in raised.value.message


def test_enum_value_outside_its_options_is_rejected(repository: Repository) -> None:
    with pytest.raises(ValidationFailed, match="'Everything' is not a valid option"):
        repository.insert(CUSTOMER, {"blocked": "Everything"}, company=COMPANY_A)


def test_required_attribute_cannot_be_cleared_and_key_cannot_change(repository: Repository) -> None:
    row = repository.insert(ACCOUNT, {"name": "A"})
    with pytest.raises(ValidationFailed, match="a value is required"):
        repository.update(ACCOUNT, row["accountid"], {"name": None})
    with pytest.raises(ValidationFailed, match="read-only"):
        repository.update(ACCOUNT, row["accountid"], {"accountid": "abcdef01-2345-6789-abcd-ef0123456789"})


def test_system_writes_may_set_read_only_attributes_and_keep_given_timestamps(repository: Repository) -> None:
    row = repository.insert(
        CUSTOMER,
        {"number": "1", "balanceDue": "12.5", "lastModifiedDateTime": "2020-05-01T10:00:00Z"},
        company=COMPANY_A,
        as_system=True,
    )
    assert row["balanceDue"] == Decimal("12.5")
    assert row["lastModifiedDateTime"].isoformat() == "2020-05-01T10:00:00+00:00"


def test_concurrent_read_then_write_units_of_work_wait_instead_of_failing(tmp_path) -> None:
    # Two Database objects on one file stand in for two processes; each thread reads then writes.
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url, [ACCOUNT]), Database(url, [ACCOUNT])
    first.create_all()
    second.create_all()
    repositories = [Repository(first), Repository(second)]
    key = repositories[0].insert(ACCOUNT, {"name": "counter", "numberofemployees": 0})["accountid"]

    def bump(repository: Repository) -> None:
        for _ in range(15):
            with repository.unit_of_work() as work:
                row = work.get(ACCOUNT, key)
                work.update(ACCOUNT, key, {"numberofemployees": row["numberofemployees"] + 1})

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(bump, repositories[index % 2]) for index in range(4)]:
            future.result()

    final = repositories[1].get(ACCOUNT, key)
    assert final["numberofemployees"] == 60  # no lost update
    assert final["_version"] == 61
    first.dispose()
    second.dispose()


def test_bulk_inserted_rows_are_stored_exactly_like_single_inserts(repository: Repository, clock) -> None:
    # Whole seconds and whole numbers are where stored text formats would differ.
    clock.now = clock.now.replace(microsecond=0)
    values = {
        "creditlimit": 100,
        "donotemail": True,
        "opendate": "2024-03-01",
        "lastcontacted": "2024-03-01T10:00:00Z",
    }
    single = repository.insert(ACCOUNT, {"name": "single", **values})
    [bulk] = repository.insert_many(ACCOUNT, [{"name": "bulk", **values}])
    table = repository.table(ACCOUNT)
    for column in ("modifiedon", "createdon", *values):
        where = table.c[column] == single[column]
        assert {row["name"] for row in repository.query(ACCOUNT, where=where)} == {"single", "bulk"}, column
    with repository.database.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT modifiedon, creditlimit, opendate FROM dataverse_account")
        assert len(set(stored.all())) == 1
    assert bulk["modifiedon"] == single["modifiedon"]
