"""Reads of entity sets: query options, keyset paging with `$skiptoken`, `$count` and `$expand`.

Query options are parsed by `sandbox.odata`; this module applies Dataverse's rules on top of them
(options it rejects, page size limits, `$top` ignored under `odata.maxpagesize`, the 5,000 count cap).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement

from sandbox.dataverse.catalog import Catalog, Navigation
from sandbox.dataverse.errors import DataverseError, bad_request, unknown_property
from sandbox.dataverse.records import VERSION_NUMBER, Annotator, entity, selected_columns
from sandbox.odata import (
    ExpandItem,
    ODataError,
    Preferences,
    UnknownProperty,
    filter_clause,
    parse_expand,
    parse_orderby,
    parse_select,
    parse_top,
)
from sandbox.storage.repository import Row, UnitOfWork
from sandbox.storage.schema import EntitySchema

MAX_PAGE_SIZE = 5000
COUNT_LIMIT = 5000
REJECTED_OPTIONS = ("$skip", "$search", "$format")
KNOWN_OPTIONS = ("$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken", "$deltatoken")
# Custom query options (no `$`) the Web API documents. `tag` passes a shared variable to plug-ins; the
# sandbox runs none, so it is accepted and has no effect. The stored-query options run queries the
# sandbox does not implement: it refuses them as not supported rather than return the whole table.
IGNORED_CUSTOM_OPTIONS = ("tag",)
UNIMPLEMENTED_CUSTOM_OPTIONS = ("fetchXml", "savedQuery", "userQuery")
TOTAL_COUNT = "Microsoft.Dynamics.CRM.totalrecordcount"
TOTAL_COUNT_EXCEEDED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
_IN_CHUNK = 500


@contextmanager
def odata_errors(schema: EntitySchema) -> Iterator[None]:
    """Translate `sandbox.odata` errors into Dataverse 400s (unknown properties name the CRM type)."""
    try:
        yield
    except UnknownProperty as error:
        raise unknown_property(error.name, schema.logical_name) from None
    except ODataError as error:
        raise bad_request(error.message) from None


@dataclass(frozen=True)
class QueryOptions:
    """The system query options of one request, still as text (aliases already substituted)."""

    values: dict[str, str]

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[str, str]], custom: Sequence[str] = ()) -> QueryOptions:
        """The `$` options; `custom` names the non-`$` options the resource takes (else refused)."""
        aliases = {name: value for name, value in pairs if name.startswith("@")}
        values: dict[str, str] = {}
        for name, value in pairs:
            if name.startswith("@") or name in custom or name in IGNORED_CUSTOM_OPTIONS:
                continue
            if name in UNIMPLEMENTED_CUSTOM_OPTIONS:
                raise DataverseError(
                    501, "0x8004800d", f"The query parameter {name} is not supported by the sandbox"
                )
            if not name.startswith("$"):
                # What Dataverse answers for a custom option it does not know (e.g. `utm_source`).
                raise bad_request(f"The query parameter {name} is not supported")
            if name in REJECTED_OPTIONS:
                raise bad_request(f"The query parameter {name} is not supported")
            if name == "$apply":
                raise DataverseError(
                    501, "0x8004800d", "The query parameter $apply is not supported by the sandbox"
                )
            if name not in KNOWN_OPTIONS:
                raise bad_request(f"The query parameter {name} is not supported")
            values[name] = substitute_aliases(value, aliases)
        return cls(values)

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def substitute_aliases(text: str, aliases: dict[str, str]) -> str:
    """Replace parameter aliases (`@message`) outside string literals by their values."""
    if not aliases or "@" not in text:
        return text
    out: list[str] = []
    index, quoted = 0, False
    while index < len(text):
        char = text[index]
        if char == "'":
            quoted = not quoted
        if char == "@" and not quoted:
            end = index + 1
            while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                end += 1
            name = text[index:end]
            if name not in aliases:
                raise bad_request(f"The parameter alias '{name}' is used but no value is given for it.")
            out.append(aliases[name])
            index = end
            continue
        out.append(char)
        index += 1
    return "".join(out)


@dataclass(frozen=True)
class ParsedQuery:
    select: tuple[str, ...] | None  # wire columns (plus versionnumber)
    where: ColumnElement[bool] | None
    order_by: list[tuple[str, bool]]
    expand: tuple[ExpandItem, ...]
    top: int | None


class QueryReader:
    """Answers collection and single-entity reads of one table inside one unit of work."""

    def __init__(self, catalog: Catalog, work: UnitOfWork, table_of: Callable[[EntitySchema], Any]) -> None:
        self.catalog = catalog
        self.work = work
        self.table_of = table_of

    # -- parsing ------------------------------------------------------------------------------

    def parse(self, schema: EntitySchema, options: QueryOptions) -> ParsedQuery:
        with odata_errors(schema):
            select = self.parse_select(schema, options.get("$select"))
            where = self.where(schema, options.get("$filter"))
            order_by = parse_orderby(options.get("$orderby") or "", schema) if options.get("$orderby") else []
            expand = parse_expand(options.get("$expand") or "") if options.get("$expand") else ()
            top = parse_top(options.get("$top") or "") if options.get("$top") is not None else None
        for item in expand:
            self.navigation(schema, item.navigation)
        return ParsedQuery(select, where, order_by, expand, top)

    def parse_select(self, schema: EntitySchema, text: str | None) -> tuple[str, ...] | None:
        if text is None:
            return None
        names = [name.strip() for name in text.split(",")]
        wants_version = VERSION_NUMBER in names
        rest = ",".join(name for name in names if name != VERSION_NUMBER)
        with odata_errors(schema):
            columns = parse_select(rest, schema) if rest else ()
        return (*columns, VERSION_NUMBER) if wants_version else columns

    def where(self, schema: EntitySchema, text: str | None) -> ColumnElement[bool] | None:
        if text is None:
            return None
        with odata_errors(schema):
            return filter_clause(text, schema, self.table_of(schema))

    def navigation(self, schema: EntitySchema, name: str) -> Navigation:
        navigation = self.catalog.navigation(schema, name)
        if navigation is None:
            raise unknown_property(name, schema.logical_name)
        return navigation

    # -- reads --------------------------------------------------------------------------------

    def page(
        self, schema: EntitySchema, query: ParsedQuery, preferences: Preferences, after: list[Any] | None
    ) -> tuple[list[Row], list[Any] | None]:
        """One page of rows and the keyset position of its last row when more rows follow."""
        limit = page_size(preferences)
        # $top caps the result (no next link) unless odata.maxpagesize asks for paging.
        capped = preferences.max_page_size is None and query.top is not None
        if query.top is not None and capped:
            limit = min(query.top, MAX_PAGE_SIZE)
        rows = self.work.query(
            schema, where=query.where, order_by=query.order_by, limit=limit + 1, after=after
        )
        if len(rows) <= limit or capped:
            return rows[:limit], None
        rows = rows[:limit]
        last = rows[-1]
        return rows, [last[column] for column, _ in query.order_by] + [last[schema.key]]

    def count(self, schema: EntitySchema, where: ColumnElement[bool] | None) -> int:
        return self.work.count(schema, where)

    def render(
        self,
        schema: EntitySchema,
        rows: list[Row],
        select: Sequence[str] | None,
        expand: Sequence[ExpandItem],
        annotator: Annotator | None,
    ) -> list[dict[str, Any]]:
        columns = selected_columns(schema, select)
        documents = [entity(schema, row, columns, annotator) for row in rows]
        for item in expand:
            self.expand(schema, rows, documents, item, annotator)
        return documents

    def expand(
        self,
        schema: EntitySchema,
        rows: list[Row],
        documents: list[dict[str, Any]],
        item: ExpandItem,
        annotator: Annotator | None,
    ) -> None:
        navigation = self.navigation(schema, item.navigation)
        target = navigation.target
        select = self.parse_select(target, item.select)
        if navigation.collection:
            self._expand_collection(schema, rows, documents, navigation, item, select, annotator)
            return
        if item.filter or item.orderby or item.top is not None:
            raise bad_request(
                f"$filter, $orderby and $top cannot be applied to the single-valued navigation property "
                f"'{item.navigation}'."
            )
        column = navigation.attribute.column
        ids = sorted({row[column] for row in rows if row[column] is not None})
        related = {row[target.key]: row for row in self._rows_with_keys(target, target.key, ids)}
        related_rows = list(related.values())
        rendered = self.render(target, related_rows, select, item.expand, annotator)
        by_key = {row[target.key]: document for row, document in zip(related_rows, rendered, strict=True)}
        for row, document in zip(rows, documents, strict=True):
            document[item.navigation] = by_key.get(row[column]) if row[column] is not None else None

    def _expand_collection(
        self,
        schema: EntitySchema,
        rows: list[Row],
        documents: list[dict[str, Any]],
        navigation: Navigation,
        item: ExpandItem,
        select: tuple[str, ...] | None,
        annotator: Annotator | None,
    ) -> None:
        child = navigation.target
        lookup = navigation.attribute
        where = self.where(child, item.filter)
        with odata_errors(child):
            order_by = parse_orderby(item.orderby, child) if item.orderby else []
        parents = [row[schema.key] for row in rows]
        children = self._rows_with_keys(child, lookup.name, parents, where, order_by)
        rendered = self.render(child, children, select, item.expand, annotator)
        grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in parents}
        for row, document in zip(children, rendered, strict=True):
            bucket = grouped.get(row[lookup.column])
            if bucket is not None and (item.top is None or len(bucket) < item.top):
                bucket.append(document)
        for row, document in zip(rows, documents, strict=True):
            document[item.navigation] = grouped[row[schema.key]]

    def _rows_with_keys(
        self,
        schema: EntitySchema,
        attribute_name: str,
        values: list[str],
        where: ColumnElement[bool] | None = None,
        order_by: list[tuple[str, bool]] | None = None,
    ) -> list[Row]:
        attribute = schema.attribute(attribute_name)
        assert attribute is not None
        column = self.table_of(schema).c[attribute.column]
        found: list[Row] = []
        for start in range(0, len(values), _IN_CHUNK):
            condition = column.in_(values[start : start + _IN_CHUNK])
            if where is not None:
                condition = condition & where
            found += self.work.query(schema, where=condition, order_by=order_by or [])
        return found


def page_size(preferences: Preferences) -> int:
    requested = preferences.max_page_size
    if requested is None:
        return MAX_PAGE_SIZE
    if requested > MAX_PAGE_SIZE:
        raise DataverseError(
            413,
            "0x80060888",
            f"The requested page size {requested} exceeds the maximum page size of {MAX_PAGE_SIZE} "
            f"(Prefer: odata.maxpagesize).",
        )
    return requested


def context_url(
    api_root: str, set_name: str, select: Sequence[str] | None, expand: Sequence[ExpandItem]
) -> str:
    parts = list(select or ())
    parts += [
        f"{item.navigation}({item.select or ''})" if item.select else item.navigation for item in expand
    ]
    shape = f"({','.join(parts)})" if parts else ""
    return f"{api_root}$metadata#{set_name}{shape}"


def next_link(api_root: str, path: str, pairs: Sequence[tuple[str, str]], token_name: str, token: str) -> str:
    """The absolute URL of the next page: the same query with a new `$skiptoken`."""
    kept = [(name, value) for name, value in pairs if name not in ("$skiptoken", "$deltatoken")]
    kept.append((token_name, token))
    query = "&".join(f"{name}={quote(value, safe=',()$=:')}" for name, value in kept)
    return f"{api_root}{path}?{query}"
