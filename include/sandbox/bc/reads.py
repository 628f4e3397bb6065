"""GET on an entity set or entity: `$filter`, `$select`, `$orderby`, `$top`, `$expand` and keyset paging.

Queries name page properties; they are checked against the page (`ApiPage.view`) and run on the
page's table, so a renamed custom-page field filters the same column as the standard one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_

from sandbox.bc.errors import BCError, bad_request, record_not_found
from sandbox.bc.pages import ApiPage, PageIndex
from sandbox.bc.tables import PRIMARY_KEYS
from sandbox.bc.wire import entity
from sandbox.odata import (
    ExpandItem,
    ODataError,
    UnknownProperty,
    decode_skiptoken,
    encode_skiptoken,
    filter_clause,
    parse_expand,
    parse_orderby,
    parse_select,
    parse_top,
)
from sandbox.storage.repository import Repository, Row, UnitOfWork

SUPPORTED_OPTIONS = frozenset({"$filter", "$select", "$orderby", "$top", "$expand", "$skiptoken", "company"})


class PageColumns:
    """The page's properties as columns of its table, in the shape the filter compiler reads (`.c`)."""

    def __init__(self, page: ApiPage, table: Table) -> None:
        self.c = {f.name: table.c[page.attribute(f).column] for f in page.fields}


@dataclass(frozen=True)
class Scope:
    """Where an entity set lives: the company, and the parent document for nested lines."""

    company: str
    parent_id: str | None = None


@dataclass(frozen=True)
class Listing:
    entities: list[dict[str, Any]]
    skiptoken: str | None  # set when more rows follow (the nextLink's $skiptoken)
    remaining_top: int | None  # what is left of $top for the next page


def check_options(query: Mapping[str, str]) -> None:
    for name in query:
        if name.startswith("$") and name not in SUPPORTED_OPTIONS:
            raise bad_request(f"The query parameter '{name}' is not supported")


def odata_error(error: ODataError) -> BCError:
    """BC's answer to a bad query option: an unknown property is BadRequest_NotFound."""
    code = "BadRequest_NotFound" if isinstance(error, UnknownProperty) else "BadRequest"
    return BCError(400, code, error.message)


class Reader:
    """Reads of one route's pages inside one unit of work."""

    def __init__(self, work: UnitOfWork, pages: PageIndex, repository: Repository) -> None:
        self.work = work
        self.pages = pages
        self.repository = repository

    def table(self, page: ApiPage) -> Table:
        return self.repository.table(page.table)

    @staticmethod
    def primary_key_order(page: ApiPage) -> list[tuple[str, bool]]:
        return [(name, False) for name in PRIMARY_KEYS.get(page.table.logical_name, ())]

    def where(self, page: ApiPage, scope: Scope, text: str | None) -> ColumnElement[bool] | None:
        conditions = []
        table = self.table(page)
        if scope.parent_id is not None and page.parent_field is not None:
            conditions.append(table.c[page.parent_field] == scope.parent_id)
        if text:
            try:
                conditions.append(filter_clause(text, page.view, PageColumns(page, table)))  # type: ignore[arg-type]
            except ODataError as error:
                raise odata_error(error) from None
        return and_(*conditions) if conditions else None

    def list(self, page: ApiPage, scope: Scope, query: Mapping[str, str], page_size: int) -> Listing:
        try:
            select = parse_select(query["$select"], page.view) if "$select" in query else None
            ordering = parse_orderby(query["$orderby"], page.view) if "$orderby" in query else []
            top = parse_top(query["$top"]) if "$top" in query else None
            expand = parse_expand(query["$expand"]) if "$expand" in query else ()
            after = decode_skiptoken(query["$skiptoken"]) if "$skiptoken" in query else None
        except ODataError as error:
            raise odata_error(error) from None
        order_by = [(page.by_name[name].attribute, descending) for name, descending in ordering]
        order_by = order_by or self.primary_key_order(page)
        limit = page_size if top is None else min(top, page_size)
        try:
            rows = self.work.query(
                page.table,
                where=self.where(page, scope, query.get("$filter")),
                order_by=order_by,
                limit=limit + 1,
                after=after,
                company=scope.company,
            )
        except ValueError:  # a skip token from another query (different $orderby)
            raise bad_request(
                "The $skiptoken does not belong to this query; request the first page again"
            ) from None
        more = len(rows) > limit
        rows = rows[:limit]
        remaining = None if top is None else top - len(rows)
        token = None
        if more and (remaining is None or remaining > 0) and rows:
            last = rows[-1]
            token = encode_skiptoken([last[attribute] for attribute, _ in order_by] + [last["id"]])
        entities = [entity(page, row, select) for row in rows]
        self.expand(page, scope, rows, entities, expand)
        return Listing(entities, token, remaining if token else None)

    def one(self, page: ApiPage, scope: Scope, key: str, query: Mapping[str, str]) -> dict[str, Any]:
        row = self.row(page, scope, key)
        try:
            select = parse_select(query["$select"], page.view) if "$select" in query else None
            expand = parse_expand(query["$expand"]) if "$expand" in query else ()
        except ODataError as error:
            raise odata_error(error) from None
        document = entity(page, row, select)
        self.expand(page, scope, [row], [document], expand)
        return document

    def row(self, page: ApiPage, scope: Scope, key: str) -> Row:
        """The table row behind `page(key)` in the scope; Internal_RecordNotFound otherwise."""
        row = self.work.get(page.table, key, company=scope.company)
        if row is None or (
            scope.parent_id is not None and page.parent_field and row[page.parent_field] != scope.parent_id
        ):
            raise record_not_found(page.caption, key)
        return row

    def expand(
        self,
        page: ApiPage,
        scope: Scope,
        rows: list[Row],
        entities: list[dict[str, Any]],
        items: tuple[ExpandItem, ...],
    ) -> None:
        """Attach each `$expand` navigation: one query per navigation for all rows of the page."""
        for item in items:
            navigation = page.navigation(item.navigation)
            target = self.pages.page(navigation.target) if navigation else None
            if navigation is None or target is None:
                raise BCError(
                    400,
                    "BadRequest_NotFound",
                    f"Could not find a property named '{item.navigation}' on type '{page.qualified_type}'",
                )
            local = page.by_name[navigation.local].attribute
            remote = target.by_name[navigation.remote]
            keys = sorted({row[local] for row in rows if row[local] is not None})
            table = self.table(target)
            try:
                select = parse_select(item.select, target.view) if item.select else None
                ordering = parse_orderby(item.orderby, target.view) if item.orderby else []
            except ODataError as error:
                raise odata_error(error) from None
            condition = table.c[target.attribute(remote).column].in_(keys)
            extra = self.where(target, Scope(scope.company), item.filter)
            order_by = [(target.by_name[name].attribute, descending) for name, descending in ordering]
            found = self.work.query(
                target.table,
                where=condition if extra is None else and_(condition, extra),
                order_by=order_by or self.primary_key_order(target),
                company=scope.company,
            )
            groups: dict[Any, list[Row]] = {}
            for row in found:
                groups.setdefault(row[target.attribute(remote).column], []).append(row)
            for row, document in zip(rows, entities, strict=True):
                matches = groups.get(row[local], [])
                if item.top is not None:
                    matches = matches[: item.top]
                shown = [entity(target, match, select) for match in matches]
                self.expand(target, scope, matches, shown, item.expand)
                if navigation.many:
                    document[navigation.name] = shown
                else:
                    document[navigation.name] = shown[0] if shown else None
