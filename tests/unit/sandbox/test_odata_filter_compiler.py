"""`$filter` compiled to SQL and run against an in-memory SQLite table of the test account schema."""

from __future__ import annotations

import pytest
from sandbox_test_schemas import ACCOUNT, COMPANY_A, CUSTOMER
from sqlalchemy.dialects import postgresql

from sandbox.odata import IncompatibleLiteral, UnknownProperty, UnsupportedQueryOption, filter_clause
from sandbox.storage.repository import Repository

PARENT = "abcdef01-2345-6789-abcd-ef0123456789"


@pytest.fixture
def accounts(repository: Repository, clock) -> Repository:
    rows = [
        {"name": "O'Brien & Co", "accountnumber": "OB-1", "creditlimit": "1000.50", "numberofemployees": 12},
        {"name": "Contoso", "accountnumber": "C_100", "creditlimit": 25000, "customertypecode": 1},
        {"name": "contoso east", "parentcustomerid": PARENT, "donotemail": True, "opendate": "2024-03-01"},
        {"name": "Fabrikam 100%", "accountnumber": "F-1", "numberofemployees": 500, "customertypecode": 2},
    ]
    for row in rows:
        clock.advance(60)
        repository.insert(ACCOUNT, row)
    return repository


def names(repository: Repository, text: str) -> list[str]:
    where = filter_clause(text, ACCOUNT, repository.table(ACCOUNT))
    return [row["name"] for row in repository.query(ACCOUNT, where=where, order_by=[("modifiedon", False)])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name eq 'CONTOSO'", ["Contoso"]),
        ("name eq 'o''brien & co'", ["O'Brien & Co"]),
        ("contains(name, 'ConToso')", ["Contoso", "contoso east"]),
        ("startswith(name, 'contoso ')", ["contoso east"]),
        ("endswith(name, '100%')", ["Fabrikam 100%"]),
        ("contains(accountnumber, '_')", ["Contoso"]),  # LIKE wildcards in the literal are plain text
        ("tolower(name) eq 'fabrikam 100%'", ["Fabrikam 100%"]),
        ("toupper(accountnumber) eq 'ob-1'", ["O'Brien & Co"]),
    ],
)
def test_text_comparisons_are_case_insensitive(accounts: Repository, text: str, expected: list[str]) -> None:
    assert names(accounts, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("creditlimit gt 1000.5", ["Contoso"]),
        ("creditlimit ge 1000.5", ["O'Brien & Co", "Contoso"]),
        ("1000 lt creditlimit", ["O'Brien & Co", "Contoso"]),
        ("numberofemployees le 12", ["O'Brien & Co"]),
        ("customertypecode in (1, 2)", ["Contoso", "Fabrikam 100%"]),
        (
            "Microsoft.Dynamics.CRM.In(PropertyName='customertypecode',PropertyValues=['2'])",
            ["Fabrikam 100%"],
        ),
        ("donotemail eq true", ["contoso east"]),
        ("donotemail", ["contoso east"]),
        (f"_parentcustomerid_value eq {PARENT.upper()}", ["contoso east"]),
        (f"_parentcustomerid_value eq '{PARENT}'", ["contoso east"]),
        ("opendate ge 2024-01-01", ["contoso east"]),
        ("modifiedon gt 2026-01-02T03:06:05.678Z", ["contoso east", "Fabrikam 100%"]),
        ("modifiedon gt 2026-01-02T04:06:05.678+01:00", ["contoso east", "Fabrikam 100%"]),
        (
            "name eq 'Contoso' or numberofemployees gt 100 and customertypecode eq 2",
            ["Contoso", "Fabrikam 100%"],
        ),
        ("(name eq 'Contoso' or numberofemployees gt 100) and customertypecode eq 1", ["Contoso"]),
    ],
)
def test_typed_comparisons(accounts: Repository, text: str, expected: list[str]) -> None:
    assert names(accounts, text) == expected


def test_eq_null_is_is_null_and_ne_null_is_is_not_null(accounts: Repository) -> None:
    assert names(accounts, "accountnumber eq null") == ["contoso east"]
    assert names(accounts, "accountnumber ne null") == ["O'Brien & Co", "Contoso", "Fabrikam 100%"]


def test_ne_and_not_include_rows_whose_value_is_null(accounts: Repository) -> None:
    # OData logic is two-valued: null ne 12 is true, and not (null eq 12) is true.
    assert names(accounts, "numberofemployees ne 12") == ["Contoso", "contoso east", "Fabrikam 100%"]
    assert names(accounts, "not (numberofemployees eq 12)") == ["Contoso", "contoso east", "Fabrikam 100%"]
    assert names(accounts, "not contains(accountnumber, '-')") == ["Contoso", "contoso east"]
    assert names(accounts, "customertypecode in (1, null)") == ["O'Brien & Co", "Contoso", "contoso east"]


def test_unknown_property_is_named(accounts: Repository) -> None:
    with pytest.raises(UnknownProperty) as raised:
        names(accounts, "name eq 'a' and colour eq 'red'")
    assert raised.value.name == "colour"
    assert raised.value.position == 16
    assert str(raised.value) == "Could not find a property named 'colour' on type 'account'."


def test_lookups_answer_only_to_their_value_column(accounts: Repository) -> None:
    with pytest.raises(UnknownProperty, match="'parentcustomerid'"):
        names(accounts, f"parentcustomerid eq {PARENT}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name eq 5", "The value 5 cannot be compared with 'name' (string)"),
        (
            "numberofemployees eq 'many'",
            "cannot be compared with 'numberofemployees' (integer): 'many' is not a number",
        ),
        ("numberofemployees eq 1.5", "expected a whole number"),
        ("creditlimit eq 'NaN'", "not a finite number"),
        ("modifiedon gt 'yesterday'", "not an ISO 8601 date-time"),
        ("_parentcustomerid_value eq 'nope'", "not a GUID"),
        ("donotemail eq 1", "cannot be compared with 'donotemail' (boolean)"),
        ("creditlimit eq 1.123456", "at most 5 decimal places"),
        ("numberofemployees gt null", "null can only be compared with eq or ne"),
        ("contains(numberofemployees, '1')", "contains needs a text property"),
        ("name", "not a true/false condition"),
    ],
)
def test_type_mismatches_are_clear_errors(accounts: Repository, text: str, message: str) -> None:
    with pytest.raises(IncompatibleLiteral) as raised:
        names(accounts, text)
    assert message in raised.value.message
    assert raised.value.status == 400


def test_property_to_property_comparison_is_unsupported(accounts: Repository) -> None:
    with pytest.raises(UnsupportedQueryOption, match="a property on one side and a literal"):
        names(accounts, "name eq accountnumber")


def test_enum_properties_filter_as_text(repository: Repository) -> None:
    repository.insert(CUSTOMER, {"number": "1", "blocked": "Ship"}, company=COMPANY_A)
    repository.insert(CUSTOMER, {"number": "2", "blocked": "All"}, company=COMPANY_A)
    where = filter_clause("blocked eq 'ship'", CUSTOMER, repository.table(CUSTOMER))
    assert [row["number"] for row in repository.query(CUSTOMER, where=where, company=COMPANY_A)] == ["1"]


def test_postgresql_compares_text_through_lower(repository: Repository) -> None:
    clause = filter_clause("contains(name, 'A')", ACCOUNT, repository.table(ACCOUNT))
    sql = str(clause.compile(dialect=postgresql.dialect()))
    assert sql == "lower(dataverse_account.name) LIKE lower(%(param_1)s::VARCHAR) ESCAPE '\\'"
