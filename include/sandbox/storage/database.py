"""The SQL side of the local services: engine settings, one table per entity schema, tombstones.

SQLite (WAL, shared by several processes and a thread pool) is the default; PostgreSQL works too.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from sandbox.storage.schema import Attribute, AttributeType, EntitySchema
from sandbox.storage.values import DECIMAL_PLACES, as_utc

VERSION_COLUMN = "_version"
COMPANY_COLUMN = "_company_id"
GUID_LENGTH = 36
SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Page cache per connection, KiB (SQLite's default is 2 MB): rows are keyed by random GUIDs, so
# seeding and bulk writes touch index pages all over the file and would read them again and again.
SQLITE_CACHE_KIB = 64 * 1024
_ROW_VERSION_ID = 1
TEXT_TYPES = frozenset({AttributeType.STRING, AttributeType.MEMO, AttributeType.ENUM})


class ExactDecimal(TypeDecorator[Decimal]):
    """A decimal stored as a 64-bit integer count of 10^-DECIMAL_PLACES units.

    SQLite has no exact decimal type (NUMERIC affinity keeps a REAL and drops digits beyond ~15) and
    decimals kept as text compare and sort as text. A scaled integer is exact, compares and sorts
    numerically and indexes well on both SQLite and PostgreSQL, so it is the one representation.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(Decimal(value).scaleb(DECIMAL_PLACES))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        number = Decimal(value).scaleb(-DECIMAL_PLACES)
        # Drop the padding zeros without turning 100 into 1E+2.
        return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant stored without zone (same text format on SQLite, so it sorts) and read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class CaseInsensitiveText(TypeDecorator[str]):
    """Text that compares, sorts and is unique case-insensitively, like both services' collations.

    SQLite gets the NOCASE column collation (so plain `=`, ORDER BY and unique indexes use it and stay
    indexable); other databases compare through `casefold()`, which renders `lower()` there.
    """

    impl = String
    cache_ok = True

    def __init__(self, length: int | None = None, *, memo: bool = False) -> None:
        super().__init__(length)
        self.length = length
        self.memo = memo

    def load_dialect_impl(self, dialect: Any) -> TypeEngine[Any]:
        collation = "NOCASE" if dialect.name == "sqlite" else None
        if self.memo:
            return dialect.type_descriptor(Text(collation=collation))
        return dialect.type_descriptor(String(self.length, collation=collation))


class casefold(FunctionElement[str]):  # lowercase: reads like the SQL function it renders
    """An expression compared case-insensitively: `lower(x)`, or `x` itself on SQLite (NOCASE columns)."""

    type = String()
    name = "casefold"
    inherit_cache = True


@compiles(casefold)
def _casefold_default(element: casefold, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(casefold, "sqlite")
def _casefold_sqlite(element: casefold, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


def snake_case(name: str) -> str:
    """`salesInvoiceLine` → `sales_invoice_line`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def table_name(schema: EntitySchema) -> str:
    return f"{schema.service}_{snake_case(schema.logical_name)}"


def _index_name(prefix: str, table: str, suffix: str) -> str:
    name = f"{prefix}_{table}_{suffix}"
    if len(name) <= 60:  # PostgreSQL truncates identifiers at 63 bytes
        return name
    return f"{name[:48]}_{hashlib.sha1(name.encode()).hexdigest()[:10]}"


def column_type(attribute: Attribute) -> TypeEngine[Any]:
    kind = attribute.type
    if kind is AttributeType.STRING or kind is AttributeType.ENUM:
        return CaseInsensitiveText(attribute.max_length)
    if kind is AttributeType.MEMO:
        return CaseInsensitiveText(memo=True)
    if kind is AttributeType.INTEGER or kind is AttributeType.CHOICE:
        return Integer()
    if kind is AttributeType.DECIMAL or kind is AttributeType.MONEY:
        return ExactDecimal()
    if kind is AttributeType.BOOLEAN:
        return Boolean()
    if kind is AttributeType.GUID or kind is AttributeType.LOOKUP:
        return String(GUID_LENGTH)
    if kind is AttributeType.DATETIME:
        return UtcDateTime()
    if kind is AttributeType.DATE:
        return Date()
    raise ValueError(f"attribute {attribute.name!r} has an unknown type {kind!r}")


def _build_table(metadata: MetaData, schema: EntitySchema) -> Table:
    name = table_name(schema)
    if schema.attribute(schema.key) is None:
        raise ValueError(
            f"schema {schema.service}.{schema.logical_name}: key {schema.key!r} is not an attribute"
        )
    if schema.attribute(schema.modified_on) is None:
        raise ValueError(
            f"schema {schema.service}.{schema.logical_name}: "
            f"modified_on {schema.modified_on!r} is not an attribute"
        )
    columns = [
        Column(attribute.column, column_type(attribute), primary_key=attribute.name == schema.key)
        for attribute in schema.attributes
    ]
    columns.append(Column(VERSION_COLUMN, BigInteger, nullable=False, index=True))
    if schema.company_scoped:
        columns.append(Column(COMPANY_COLUMN, String(GUID_LENGTH), nullable=False, index=True))
    table = Table(name, metadata, *columns)
    key = table.c[schema.attribute(schema.key).column]  # type: ignore[union-attr]
    modified = table.c[schema.attribute(schema.modified_on).column]  # type: ignore[union-attr]
    Index(_index_name("ix", name, "modified"), modified, key)
    scope = [table.c[COMPANY_COLUMN]] if schema.company_scoped else []
    for key_name, attribute_names in schema.alternate_keys.items():
        key_columns = _key_columns(schema, table, "alternate key", key_name, attribute_names)
        Index(_index_name("ux", name, snake_case(key_name)), *scope, *key_columns, unique=True)
    for key_name, attribute_names in schema.indexes.items():
        key_columns = _key_columns(schema, table, "index", key_name, attribute_names)
        Index(_index_name("ix", name, snake_case(key_name)), *scope, *key_columns)
    return table


def _key_columns(
    schema: EntitySchema, table: Table, kind: str, key_name: str, attribute_names: tuple[str, ...]
) -> list[Column[Any]]:
    columns = []
    for attribute_name in attribute_names:
        attribute = schema.attribute(attribute_name)
        if attribute is None:
            raise ValueError(
                f"schema {schema.service}.{schema.logical_name}: {kind} {key_name!r} "
                f"names unknown attribute {attribute_name!r}"
            )
        columns.append(table.c[attribute.column])
    return columns


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Take transaction control from pysqlite so writers can BEGIN IMMEDIATE (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
        # another process wrote in between; taking the write lock up front makes it wait instead.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _with_installed_driver(url: str) -> URL:
    """A bare `postgresql://` URL with the PostgreSQL driver that is installed.

    SQLAlchemy 2.1 reads a bare URL as psycopg (3); the pinned environment ships psycopg2.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql" and importlib.util.find_spec("psycopg") is None:
        return parsed.set(drivername="postgresql+psycopg2")
    return parsed


class Database:
    """The engine and the SQL tables for a set of entity schemas (both services share one database)."""

    def __init__(self, url: str, schemas: Iterable[EntitySchema]) -> None:
        self.url = url
        self.engine = self._create_engine(url)
        # SQLite lets one writer in at a time; this process's writers queue here and are woken the
        # moment the lock is free, instead of polling in SQLite's busy handler, which sleeps up to
        # 100 ms between tries (five $batch requests at once spent most of their time asleep).
        self._writers = threading.RLock() if self.dialect_name == "sqlite" else None
        self.metadata = MetaData()
        self.tombstones = Table(
            "tombstones",
            self.metadata,
            Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
            Column("service", String(16), nullable=False),
            Column("logical_name", String(128), nullable=False),
            Column("key", String(128), nullable=False),
            Column("company", String(GUID_LENGTH)),
            Column("version", BigInteger, nullable=False),
            Column("deleted_at", UtcDateTime(), nullable=False),
            Index("ix_tombstones_entity_version", "service", "logical_name", "version"),
        )
        # One row: the database-wide row version, taken by every write (ETags, delta tokens).
        self.row_versions = Table(
            "row_versions",
            self.metadata,
            Column("id", Integer, primary_key=True, autoincrement=False),
            Column("value", BigInteger, nullable=False),
        )
        self._tables: dict[tuple[str, str], Table] = {}
        for schema in schemas:
            identity = (schema.service, schema.logical_name)
            if identity in self._tables:
                raise ValueError(f"schema {schema.service}.{schema.logical_name} is declared twice")
            self._tables[identity] = _build_table(self.metadata, schema)

    @staticmethod
    def _create_engine(url: str) -> Engine:
        if not url.startswith("sqlite"):
            return create_engine(_with_installed_driver(url), pool_pre_ping=True)
        options: dict[str, Any] = {
            "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        }
        if url in ("sqlite://", "sqlite:///:memory:"):
            # An in-memory database lives in its connection: keep exactly one.
            options["poolclass"] = StaticPool
        engine = create_engine(url, **options)
        _configure_sqlite(engine)
        return engine

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    def table(self, schema: EntitySchema) -> Table:
        """The SQL table of a schema given to this database."""
        try:
            return self._tables[(schema.service, schema.logical_name)]
        except KeyError:
            raise ValueError(
                f"schema {schema.service}.{schema.logical_name} is not part of this database"
            ) from None

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction, committed on exit and rolled back on an exception.

        On SQLite a write transaction holds the write lock from its start (waiting up to the busy
        timeout); a read transaction reads one consistent snapshot without blocking writers.
        """
        with self._writer_turn(write), self.engine.connect() as connection:
            if self.dialect_name == "sqlite":
                connection.execution_options(sqlite_begin="IMMEDIATE" if write else "DEFERRED")
            with connection.begin():
                yield connection

    @contextmanager
    def _writer_turn(self, write: bool) -> Iterator[None]:
        """This process's turn to write. Another process's writer still waits in SQLite's busy
        handler; a turn not granted within the busy timeout goes on to SQLite, which then decides."""
        if not write or self._writers is None:
            yield
            return
        granted = self._writers.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
        try:
            yield
        finally:
            if granted:
                self._writers.release()

    def create_all(self) -> None:
        """Create missing tables and the row-version counter; safe to call from several processes."""
        with self.transaction() as connection:
            self.metadata.create_all(connection, checkfirst=True)
            # create_all skips the indexes of a table that exists: a data dir from an older schema.
            for table in self.metadata.tables.values():
                for index in table.indexes:
                    index.create(connection, checkfirst=True)
            exists = connection.execute(
                select(self.row_versions.c.id).where(self.row_versions.c.id == _ROW_VERSION_ID)
            ).first()
            if exists is None:
                connection.execute(insert(self.row_versions).values(id=_ROW_VERSION_ID, value=0))

    def drop_all(self) -> None:
        with self.transaction() as connection:
            self.metadata.drop_all(connection, checkfirst=True)

    def reset(self) -> None:
        """Drop every table and create them empty (row versions start again at 1)."""
        self.drop_all()
        self.create_all()

    def clear(self) -> None:
        """Delete every row in one transaction; row versions start again at 1.

        Unlike `reset`, no table is dropped: a running server's pooled connections and prepared
        statements stay valid, and readers see either the old data or none (one transaction).
        """
        with self.transaction() as connection:
            for table in reversed(self.metadata.sorted_tables):
                connection.execute(table.delete())
            connection.execute(insert(self.row_versions).values(id=_ROW_VERSION_ID, value=0))

    def dispose(self) -> None:
        self.engine.dispose()
