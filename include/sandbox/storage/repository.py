"""Transactional CRUD over the entity tables: validation, row versions, tombstones, keyset paging.

Rows are dicts keyed by wire column (`Attribute.column`) plus `_version`; see docs/architecture.md
"Storage contract".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sandbox.storage.database import (
    COMPANY_COLUMN,
    TEXT_TYPES,
    VERSION_COLUMN,
    Database,
    casefold,
)
from sandbox.storage.errors import DuplicateKey, NotFound, ValidationFailed, VersionMismatch
from sandbox.storage.schema import Attribute, AttributeType, EntitySchema
from sandbox.storage.values import coerce

Row = dict[str, Any]
Clock = Callable[[], datetime]
_CHUNK = 500  # keys per IN (...) when looking for clashes after a failed bulk insert


def utc_now() -> datetime:
    """Now in UTC to the millisecond, the precision both services show."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class _Layout:
    """What the repository needs to know about one schema's table, worked out once."""

    schema: EntitySchema
    table: Table
    key: Attribute
    columns: tuple[str, ...]  # wire columns, in table order
    modified_on: str
    created_on: str | None
    created_by: str | None
    modified_by: str | None
    defaults: tuple[tuple[str, Any], ...]
    required: tuple[tuple[str, str], ...]  # (attribute name, column) the client must give
    alternate_keys: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # key name -> (name, column)
    by_name: dict[str, tuple[Attribute, str]]  # attribute name or wire column -> (attribute, column)

    @classmethod
    def of(cls, schema: EntitySchema, table: Table) -> _Layout:
        def column_of(name: str | None) -> str | None:
            attribute = schema.attribute(name) if name else None
            return attribute.column if attribute else None

        key = schema.attribute(schema.key)
        assert key is not None  # Database refuses schemas without their key attribute
        system = {schema.key, schema.modified_on, schema.created_on, "createdby", "modifiedby"}
        return cls(
            schema=schema,
            table=table,
            key=key,
            columns=tuple(attribute.column for attribute in schema.attributes),
            modified_on=column_of(schema.modified_on),  # type: ignore[arg-type]
            created_on=column_of(schema.created_on),
            created_by=column_of("createdby"),
            modified_by=column_of("modifiedby"),
            defaults=tuple(
                (a.column, coerce(a, a.default)) for a in schema.attributes if a.default is not None
            ),
            required=tuple(
                (a.name, a.column) for a in schema.attributes if a.required and a.name not in system
            ),
            alternate_keys=tuple(
                (key_name, tuple((name, column_of(name)) for name in names))  # type: ignore[misc]
                for key_name, names in schema.alternate_keys.items()
            ),
            by_name={
                name: (attribute, attribute.column)
                for attribute in schema.attributes
                for name in (attribute.name, attribute.column)
            },
        )

    @property
    def key_column(self) -> ColumnElement[Any]:
        return self.table.c[self.key.column]

    def select_columns(self) -> list[ColumnElement[Any]]:
        return [self.table.c[name] for name in (*self.columns, VERSION_COLUMN)]


def _equals(attribute: Attribute, column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    if value is None:
        return column.is_(None)
    if attribute.type in TEXT_TYPES:
        return casefold(column) == casefold(value)
    return column == value


class UnitOfWork:
    """The repository's operations inside one open transaction (see `Repository.unit_of_work`)."""

    def __init__(self, repository: Repository, connection: Connection) -> None:
        self._repository = repository
        self._connection = connection

    # -- reads -------------------------------------------------------------------------------

    def get(self, schema: EntitySchema, key: Any, *, company: str | None = None) -> Row | None:
        layout = self._repository._layout(schema)
        key_value = coerce(layout.key, key)
        statement = select(*layout.select_columns()).where(layout.key_column == key_value)
        statement = self._scoped(layout, statement, company)
        found = self._connection.execute(statement).mappings().first()
        return dict(found) if found is not None else None

    def find(
        self, schema: EntitySchema, values: Mapping[str, Any], *, company: str | None = None
    ) -> list[Row]:
        """Rows whose attributes equal `values` (strings case-insensitively), e.g. by alternate key."""
        layout = self._repository._layout(schema)
        conditions = []
        for name, value in values.items():
            attribute = self._attribute(schema, name)
            conditions.append(_equals(attribute, layout.table.c[attribute.column], coerce(attribute, value)))
        statement = select(*layout.select_columns()).where(*conditions).order_by(layout.key_column)
        statement = self._scoped(layout, statement, company)
        return [dict(row) for row in self._connection.execute(statement).mappings()]

    def query(
        self,
        schema: EntitySchema,
        *,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
        after: Sequence[Any] | None = None,
        company: str | None = None,
    ) -> list[Row]:
        """Rows matching `where`, ordered by `order_by` (attribute, descending) then the key.

        `after` continues a keyset page: the order-by values of the last row seen, then its key.
        """
        layout = self._repository._layout(schema)
        ordering = [(self._attribute(schema, name), descending) for name, descending in order_by]
        ordering.append((layout.key, False))
        statement = select(*layout.select_columns())
        if where is not None:
            statement = statement.where(where)
        statement = self._scoped(layout, statement, company)
        if after is not None:
            if len(after) != len(ordering):
                raise ValueError(
                    f"after has {len(after)} values; expected {len(ordering)} "
                    "(the order-by values, then the key)"
                )
            statement = statement.where(self._after(layout, ordering, after))
        statement = statement.order_by(*self._order_terms(layout, ordering))
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must not be negative, got {limit}")
            statement = statement.limit(limit)
        return [dict(row) for row in self._connection.execute(statement).mappings()]

    def count(
        self, schema: EntitySchema, where: ColumnElement[bool] | None = None, *, company: str | None = None
    ) -> int:
        layout = self._repository._layout(schema)
        statement = select(func.count()).select_from(layout.table)
        if where is not None:
            statement = statement.where(where)
        statement = self._scoped(layout, statement, company)
        return int(self._connection.execute(statement).scalar_one())

    def changes_since(
        self, schema: EntitySchema, version: int, *, company: str | None = None
    ) -> tuple[list[Row], list[str], int]:
        """Rows written after `version` (oldest first), keys deleted after it, and the current version.

        The current version is read first and bounds both reads, so a write committed meanwhile is
        reported by the next call rather than half of it now.
        """
        layout = self._repository._layout(schema)
        current = self.current_version()
        versions = layout.table.c[VERSION_COLUMN]
        statement = (
            select(*layout.select_columns()).where(versions > version, versions <= current).order_by(versions)
        )
        statement = self._scoped(layout, statement, company)
        changed = [dict(row) for row in self._connection.execute(statement).mappings()]
        tombstones = self._repository.database.tombstones
        deleted_query = (
            select(tombstones.c.key, tombstones.c.version)
            .where(
                tombstones.c.service == schema.service,
                tombstones.c.logical_name == schema.logical_name,
                tombstones.c.version > version,
                tombstones.c.version <= current,
            )
            .order_by(tombstones.c.version)
        )
        if company is not None:
            deleted_query = deleted_query.where(tombstones.c.company == self._company(layout, company))
        # A key deleted and then created again (client-chosen keys) is a change, not a deletion.
        recreated = {row[layout.key.column]: row[VERSION_COLUMN] for row in changed}
        deleted: list[str] = []
        for key, deleted_version in self._connection.execute(deleted_query):
            if recreated.get(key, -1) < deleted_version and key not in deleted:
                deleted.append(key)
        return changed, deleted, current

    def current_version(self) -> int:
        """The last row version handed out (0 in an empty database)."""
        counter = self._repository.database.row_versions
        return int(self._connection.execute(select(counter.c.value)).scalar_one())

    # -- writes ------------------------------------------------------------------------------

    def insert(
        self,
        schema: EntitySchema,
        values: Mapping[str, Any],
        *,
        actor: str | None = None,
        company: str | None = None,
        as_system: bool = False,
    ) -> Row:
        """Create a row; the key is generated unless given. `as_system` lets the service write
        read-only attributes (computed figures, historical timestamps for seed data)."""
        layout = self._repository._layout(schema)
        company = self._company(layout, company, writing=True)
        row = self._new_row(layout, values, actor, as_system, self._repository.clock())
        self._check_unique(layout, row, company, exclude_key=None)
        row[VERSION_COLUMN] = self._next_versions(1)
        try:
            with self._connection.begin_nested():
                self._connection.execute(insert(layout.table), self._stored(layout, row, company))
        except IntegrityError:
            # Another process inserted the same key between our check and our insert.
            raise self._duplicate_of([row], layout, company) from None
        return row

    def insert_many(
        self,
        schema: EntitySchema,
        rows: Sequence[Mapping[str, Any]],
        *,
        actor: str | None = None,
        company: str | None = None,
        as_system: bool = False,
    ) -> list[Row]:
        """Create many rows with one executemany (bulk messages, seed data); all or nothing."""
        layout = self._repository._layout(schema)
        company = self._company(layout, company, writing=True)
        now = self._repository.clock()  # one transaction, one timestamp
        prepared = [self._new_row(layout, values, actor, as_system, now) for values in rows]
        if not prepared:
            return []
        self._check_batch_unique(layout, prepared)
        first = self._next_versions(len(prepared))
        for offset, row in enumerate(prepared):
            row[VERSION_COLUMN] = first + offset
        try:
            with self._connection.begin_nested():
                self._execute_many(layout, prepared, company)
        except IntegrityError:
            raise self._duplicate_of(prepared, layout, company) from None
        return prepared

    def update(
        self,
        schema: EntitySchema,
        key: Any,
        values: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        actor: str | None = None,
        company: str | None = None,
        as_system: bool = False,
    ) -> Row:
        """Change some attributes of a row; `expected_version` (from If-Match) guards lost updates."""
        layout = self._repository._layout(schema)
        company = self._company(layout, company, writing=True)
        current = self._existing(layout, key, company, expected_version)
        key_value = current[layout.key.column]
        changes = self._validated(layout, values, as_system, inserting=False)
        if layout.key.column in changes and changes.pop(layout.key.column) != key_value:
            raise ValidationFailed(layout.key.name, "the key of an existing record cannot be changed")
        for name, column in layout.required:
            if column in changes and changes[column] is None:
                raise ValidationFailed(name, "a value is required")
        merged = {**current, **changes}
        if any(column in changes for _, parts in layout.alternate_keys for _, column in parts):
            self._check_unique(layout, merged, company, exclude_key=key_value)
        if not (as_system and layout.modified_on in changes):
            changes[layout.modified_on] = self._repository.clock()
        if actor is not None and layout.modified_by is not None:
            changes[layout.modified_by] = actor
        changes[VERSION_COLUMN] = self._next_versions(1)
        table = layout.table
        result = self._connection.execute(
            update(table)
            .where(layout.key_column == key_value, table.c[VERSION_COLUMN] == current[VERSION_COLUMN])
            .values(changes)
        )
        if result.rowcount != 1:
            raise self._lost_race(layout, key_value, company, current[VERSION_COLUMN])
        return {**current, **changes}

    def delete(
        self,
        schema: EntitySchema,
        key: Any,
        *,
        expected_version: int | None = None,
        company: str | None = None,
    ) -> None:
        """Remove a row and leave a tombstone so change tracking reports the deletion."""
        layout = self._repository._layout(schema)
        company = self._company(layout, company, writing=True)
        current = self._existing(layout, key, company, expected_version)
        key_value = current[layout.key.column]
        version = self._next_versions(1)
        table = layout.table
        result = self._connection.execute(
            delete(table).where(
                layout.key_column == key_value, table.c[VERSION_COLUMN] == current[VERSION_COLUMN]
            )
        )
        if result.rowcount != 1:
            raise self._lost_race(layout, key_value, company, current[VERSION_COLUMN])
        self._connection.execute(
            insert(self._repository.database.tombstones).values(
                service=schema.service,
                logical_name=schema.logical_name,
                key=key_value,
                company=company,
                version=version,
                deleted_at=self._repository.clock(),
            )
        )

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _attribute(schema: EntitySchema, name: str) -> Attribute:
        attribute = schema.attribute(name)
        if attribute is None:
            raise ValidationFailed(name, f"{schema.logical_name} has no attribute named {name!r}")
        return attribute

    @staticmethod
    def _company(layout: _Layout, company: str | None, *, writing: bool = False) -> str | None:
        if not layout.schema.company_scoped:
            if company is not None:
                raise ValueError(f"{layout.schema.logical_name} is not company-scoped; pass no company")
            return None
        if company is None:
            if writing:
                raise ValueError(f"{layout.schema.logical_name} is company-scoped; a company is required")
            return None
        return str(company).lower()

    def _scoped(self, layout: _Layout, statement: Any, company: str | None) -> Any:
        company = self._company(layout, company)
        if company is None:
            return statement
        return statement.where(layout.table.c[COMPANY_COLUMN] == company)

    @staticmethod
    def _stored(layout: _Layout, row: Row, company: str | None) -> Row:
        if company is None:
            return row
        return {**row, COMPANY_COLUMN: company}

    def _validated(
        self, layout: _Layout, values: Mapping[str, Any], as_system: bool, *, inserting: bool
    ) -> Row:
        schema = layout.schema
        by_name = layout.by_name
        out: Row = {}
        for name, value in values.items():
            found = by_name.get(name)
            if found is None:
                raise ValidationFailed(name, f"{schema.logical_name} has no attribute named {name!r}")
            attribute, column = found
            # The key may be chosen by the client on create (Dataverse allows it; BC upserts use it).
            if attribute.read_only and not as_system and not (inserting and attribute is layout.key):
                raise ValidationFailed(attribute.name, "the attribute is read-only and cannot be set")
            out[column] = coerce(attribute, value)
        return out

    def _new_row(
        self, layout: _Layout, values: Mapping[str, Any], actor: str | None, as_system: bool, now: datetime
    ) -> Row:
        given = self._validated(layout, values, as_system, inserting=True)
        row: Row = dict.fromkeys(layout.columns)
        row.update(layout.defaults)
        row.update(given)
        key = layout.key
        if row[key.column] is None:
            if key.type is not AttributeType.GUID:
                raise ValidationFailed(key.name, "a value is required (the key)")
            row[key.column] = str(uuid.uuid4())
        if not (as_system and row[layout.modified_on] is not None):
            row[layout.modified_on] = now
        if layout.created_on is not None and not (as_system and row[layout.created_on] is not None):
            row[layout.created_on] = now
        if actor is not None:
            for column in (layout.created_by, layout.modified_by):
                if column is not None:
                    row[column] = actor
        for name, column in layout.required:
            if row[column] is None:
                raise ValidationFailed(name, "a value is required")
        return row

    def _execute_many(self, layout: _Layout, rows: list[Row], company: str | None) -> None:
        connection = self._connection
        dialect = connection.dialect
        if dialect.name != "sqlite":
            connection.execute(insert(layout.table), [self._stored(layout, row, company) for row in rows])
            return
        # SQLite: one prepared statement and plain tuples, converted by the columns' own bind
        # processors; SQLAlchemy's per-row parameter handling would otherwise halve the seed's speed.
        names = [*layout.columns, VERSION_COLUMN]
        columns = [layout.table.c[name] for name in names]
        processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
        quote = dialect.identifier_preparer.quote
        targets = [quote(name) for name in names]
        tail: tuple[Any, ...] = ()
        if company is not None:
            targets.append(quote(COMPANY_COLUMN))
            tail = (company,)
        sql = (
            f"INSERT INTO {quote(layout.table.name)} ({', '.join(targets)}) "
            f"VALUES ({', '.join('?' * len(targets))})"
        )
        converters = list(zip(names, processors, strict=True))
        parameters = [
            tuple(
                row[name] if process is None or row[name] is None else process(row[name])
                for name, process in converters
            )
            + tail
            for row in rows
        ]
        connection.exec_driver_sql(sql, parameters)

    def _existing(self, layout: _Layout, key: Any, company: str | None, expected_version: int | None) -> Row:
        current = self.get(layout.schema, key, company=company)
        if current is None:
            raise NotFound(layout.schema.logical_name, key)
        if expected_version is not None and current[VERSION_COLUMN] != expected_version:
            raise VersionMismatch(layout.schema.logical_name, key, expected_version, current[VERSION_COLUMN])
        return current

    def _lost_race(self, layout: _Layout, key: Any, company: str | None, expected: int) -> Exception:
        now = self.get(layout.schema, key, company=company)
        if now is None:
            return NotFound(layout.schema.logical_name, key)
        return VersionMismatch(layout.schema.logical_name, key, expected, now[VERSION_COLUMN])

    def _next_versions(self, count: int) -> int:
        """Take `count` consecutive row versions; returns the first. Holds the counter row until commit,
        so versions become visible in the order they were handed out."""
        counter = self._repository.database.row_versions
        last = self._connection.execute(
            update(counter).values(value=counter.c.value + count).returning(counter.c.value)
        ).scalar_one()
        return int(last) - count + 1

    def _alternate_values(self, layout: _Layout, row: Row) -> Iterator[tuple[str, dict[str, Any]]]:
        for key_name, parts in layout.alternate_keys:
            values = {name: row[column] for name, column in parts}
            if all(value is not None for value in values.values()):
                yield key_name, values

    def _check_unique(self, layout: _Layout, row: Row, company: str | None, *, exclude_key: Any) -> None:
        schema = layout.schema
        key_value = row[layout.key.column]
        if exclude_key is None and self._key_exists(layout, key_value):
            raise DuplicateKey(schema.logical_name, schema.key, {schema.key: key_value})
        for key_name, values in self._alternate_values(layout, row):
            clashes = [
                found
                for found in self.find(schema, values, company=company)
                if found[layout.key.column] != exclude_key
            ]
            if clashes:
                raise DuplicateKey(schema.logical_name, key_name, values)

    def _key_exists(self, layout: _Layout, key_value: Any) -> bool:
        # Keys are unique across companies (they are GUIDs), so the check ignores the company.
        statement = select(layout.key_column).where(layout.key_column == key_value)
        return self._connection.execute(statement).first() is not None

    def _check_batch_unique(self, layout: _Layout, rows: list[Row]) -> None:
        schema = layout.schema
        seen_keys: set[Any] = set()
        seen_alternates: set[tuple[str, tuple[Any, ...]]] = set()
        for row in rows:
            key_value = row[layout.key.column]
            if key_value in seen_keys:
                raise DuplicateKey(schema.logical_name, schema.key, {schema.key: key_value})
            seen_keys.add(key_value)
            for key_name, values in self._alternate_values(layout, row):
                folded = tuple(v.lower() if isinstance(v, str) else v for v in values.values())
                if (key_name, folded) in seen_alternates:
                    raise DuplicateKey(schema.logical_name, key_name, values)
                seen_alternates.add((key_name, folded))

    def _duplicate_of(self, rows: list[Row], layout: _Layout, company: str | None) -> DuplicateKey:
        """Name the key behind a unique-index violation (runs only after a failed insert)."""
        schema = layout.schema
        keys = [row[layout.key.column] for row in rows]
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            found = self._connection.execute(
                select(layout.key_column).where(layout.key_column.in_(chunk))
            ).first()
            if found is not None:
                return DuplicateKey(schema.logical_name, schema.key, {schema.key: found[0]})
        for row in rows:
            for key_name, values in self._alternate_values(layout, row):
                if self.find(schema, values, company=company):
                    return DuplicateKey(schema.logical_name, key_name, values)
        return DuplicateKey(schema.logical_name, schema.key, {schema.key: keys[0]})

    def _sort_expression(self, layout: _Layout, attribute: Attribute) -> ColumnElement[Any]:
        column = layout.table.c[attribute.column]
        return casefold(column) if attribute.type in TEXT_TYPES else column

    def _order_terms(self, layout: _Layout, ordering: list[tuple[Attribute, bool]]) -> list[Any]:
        # NULL sorts lowest (SQLite's rule, and Dataverse's); other databases are told so explicitly.
        explicit_nulls = self._repository.database.dialect_name != "sqlite"
        terms = []
        for attribute, descending in ordering:
            expression = self._sort_expression(layout, attribute)
            term = expression.desc() if descending else expression.asc()
            if explicit_nulls and attribute is not layout.key:
                term = term.nulls_last() if descending else term.nulls_first()
            terms.append(term)
        return terms

    def _after(
        self, layout: _Layout, ordering: list[tuple[Attribute, bool]], after: Sequence[Any]
    ) -> ColumnElement[bool]:
        """Rows strictly after the position `after` in the ordering (NULL lowest)."""
        values = [coerce(attribute, raw) for (attribute, _), raw in zip(ordering, after, strict=True)]
        expressions = [self._sort_expression(layout, attribute) for attribute, _ in ordering]
        bounds = [
            casefold(value) if attribute.type in TEXT_TYPES and value is not None else value
            for (attribute, _), value in zip(ordering, values, strict=True)
        ]
        if not any(descending for _, descending in ordering) and None not in values:
            # The common case (ascending, e.g. modified_on then key): a row-value comparison lets
            # the index seek straight to the position even across many tied timestamps.
            typed = [
                bound if isinstance(bound, casefold) else literal(bound, expression.type)
                for expression, bound in zip(expressions, bounds, strict=True)
            ]
            return tuple_(*expressions) > tuple_(*typed)
        branches = []
        equal_so_far: list[ColumnElement[bool]] = []
        for (_, descending), value, expression, bound in zip(
            ordering, values, expressions, bounds, strict=True
        ):
            if value is None:
                beyond = false() if descending else expression.is_not(None)
                same = expression.is_(None)
            else:
                beyond = or_(expression < bound, expression.is_(None)) if descending else expression > bound
                same = expression == bound
            branches.append(and_(*equal_so_far, beyond))
            equal_so_far.append(same)
        return or_(*branches)


class Repository:
    """Entity storage shared by the Dataverse and BC services.

    Use `unit_of_work()` for several operations in one transaction; the same methods on the
    repository itself each run in their own transaction.
    """

    def __init__(self, database: Database, *, clock: Clock = utc_now) -> None:
        self.database = database
        self.clock = clock
        self._layouts: dict[tuple[str, str], _Layout] = {}

    def table(self, schema: EntitySchema) -> Table:
        """The SQL table of a schema, for building `where` clauses (see sandbox.odata)."""
        return self.database.table(schema)

    def _layout(self, schema: EntitySchema) -> _Layout:
        identity = (schema.service, schema.logical_name)
        layout = self._layouts.get(identity)
        if layout is None:
            layout = self._layouts[identity] = _Layout.of(schema, self.database.table(schema))
        return layout

    @contextmanager
    def unit_of_work(self, *, read_only: bool = False) -> Iterator[UnitOfWork]:
        """One transaction: committed when the block ends, rolled back if it raises.

        `read_only=True` reads a consistent snapshot without taking SQLite's write lock.
        """
        with self.database.transaction(write=not read_only) as connection:
            yield UnitOfWork(self, connection)

    def get(self, schema: EntitySchema, key: Any, *, company: str | None = None) -> Row | None:
        with self.unit_of_work(read_only=True) as work:
            return work.get(schema, key, company=company)

    def find(
        self, schema: EntitySchema, values: Mapping[str, Any], *, company: str | None = None
    ) -> list[Row]:
        with self.unit_of_work(read_only=True) as work:
            return work.find(schema, values, company=company)

    def query(
        self,
        schema: EntitySchema,
        *,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
        after: Sequence[Any] | None = None,
        company: str | None = None,
    ) -> list[Row]:
        with self.unit_of_work(read_only=True) as work:
            return work.query(
                schema, where=where, order_by=order_by, limit=limit, after=after, company=company
            )

    def count(
        self, schema: EntitySchema, where: ColumnElement[bool] | None = None, *, company: str | None = None
    ) -> int:
        with self.unit_of_work(read_only=True) as work:
            return work.count(schema, where, company=company)

    def changes_since(
        self, schema: EntitySchema, version: int, *, company: str | None = None
    ) -> tuple[list[Row], list[str], int]:
        with self.unit_of_work(read_only=True) as work:
            return work.changes_since(schema, version, company=company)

    def current_version(self) -> int:
        with self.unit_of_work(read_only=True) as work:
            return work.current_version()

    def insert(
        self,
        schema: EntitySchema,
        values: Mapping[str, Any],
        *,
        actor: str | None = None,
        company: str | None = None,
        as_system: bool = False,
    ) -> Row:
        with self.unit_of_work() as work:
            return work.insert(schema, values, actor=actor, company=company, as_system=as_system)

    def insert_many(
        self,
        schema: EntitySchema,
        rows: Sequence[Mapping[str, Any]],
        *,
        actor: str | None = None,
        company: str | None = None,
        as_system: bool = False,
    ) -> list[Row]:
        with self.unit_of_work() as work:
            return work.insert_many(schema, rows, actor=actor, company=company, as_system=as_system)

    def update(
        self,
        schema: EntitySchema,
        key: Any,
        values: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        actor: str | None = None,
        company: str | None = None,
        as_system: bool = False,
    ) -> Row:
        with self.unit_of_work() as work:
            return work.update(
                schema,
                key,
                values,
                expected_version=expected_version,
                actor=actor,
                company=company,
                as_system=as_system,
            )

    def delete(
        self,
        schema: EntitySchema,
        key: Any,
        *,
        expected_version: int | None = None,
        company: str | None = None,
    ) -> None:
        with self.unit_of_work() as work:
            work.delete(schema, key, expected_version=expected_version, company=company)
