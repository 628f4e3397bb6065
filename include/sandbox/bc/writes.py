"""POST, PATCH and DELETE on a page, inside the caller's unit of work (one request or a snapshot batch).

BC rules kept here: `If-Match` is required to change or delete, a stale ETag is 409
`Request_EntityChanged`, a number series fills a missing `number`, posted invoices cannot change,
invoice lines get the next line number and their amounts, the header's totals follow its lines, a
customer keeps its company contact and business relation (`sandbox.bc.customer_contacts`), and a
customer with ledger entries or outstanding sales lines cannot be deleted (`sandbox.bc.customer_delete`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.bc import customer_contacts, customer_delete, numbering
from sandbox.bc import tables as t
from sandbox.bc.errors import BCError, bad_request, entity_changed, method_not_allowed, record_not_found
from sandbox.bc.etags import parse_if_match
from sandbox.bc.pages import ApiPage, PageIndex
from sandbox.bc.reads import Scope
from sandbox.bc.relations import validate_relations
from sandbox.bc.wire import table_values
from sandbox.storage.errors import DuplicateKey, NotFound, ValidationFailed, VersionMismatch
from sandbox.storage.repository import Repository, Row, UnitOfWork

LINE_NO_STEP = 10000  # BC numbers document lines 10000, 20000, ...
_CENTS = Decimal("0.01")


def missing_if_match() -> BCError:
    return BCError(
        412,
        "BadRequest_InvalidToken",
        "Could not validate the client concurrency token required by the service. "
        "Please provide a valid token in the client request (the If-Match header is missing)",
    )


def _storage_error(page: ApiPage, error: Exception, key: str | None = None) -> BCError:
    if isinstance(error, VersionMismatch):
        return entity_changed()
    if isinstance(error, NotFound):
        return record_not_found(page.caption, key or str(error.key))
    if isinstance(error, DuplicateKey):
        shown = ",".join(f"{page_name(page, name)}='{value}'" for name, value in error.values.items())
        return BCError(
            400,
            "Internal_EntityWithSameKeyExists",
            f"The record in table {page.caption} already exists. Identification fields and values: {shown}",
        )
    if isinstance(error, ValidationFailed):
        return BCError(
            400,
            "Application_FieldValidationException",
            f"{page_name(page, error.attribute)} must have a value in {page.caption}: {error.message}",
        )
    raise error


def _refuse_posted_invoice(invoice: Row) -> None:
    if invoice.get("status") in t.POSTED_STATUSES:
        raise BCError(
            400,
            "Application_DialogException",
            f"Sales invoice {invoice['number']} is posted and cannot be changed or deleted",
        )


def page_name(page: ApiPage, attribute: str) -> str:
    """The page property showing a table attribute (the attribute itself if the page hides it)."""
    return next((f.name for f in page.fields if f.attribute == attribute), attribute)


class Writer:
    """Writes to one route's pages inside one unit of work."""

    def __init__(self, work: UnitOfWork, pages: PageIndex, repository: Repository, actor: str | None) -> None:
        self.work = work
        self.pages = pages
        self.repository = repository
        self.actor = actor

    def create(self, page: ApiPage, scope: Scope, body: dict[str, Any]) -> Row:
        values = self.prepare(page, scope, body)
        lines = self._deep_insert_lines(page, body)
        if page.parent_field is not None:
            values = self._line_values(page, scope, values)
        self._number(page, scope, [values])
        try:
            # The page has refused read-only properties already; as_system lets the computed ones through.
            row = self.work.insert(
                page.table, values, actor=self.actor, company=scope.company, as_system=True
            )
        except (DuplicateKey, ValidationFailed) as error:
            raise _storage_error(page, error) from None
        if page.table is t.CUSTOMER:
            customer_contacts.on_insert(self.work, self.repository, scope.company, [row], self.actor)
        if page.parent_field is not None:
            self._recalculate(row[page.parent_field], scope.company)
        if lines is not None:
            line_page, documents = lines
            for document in documents:
                self.create(line_page, Scope(scope.company, row["id"]), document)
            row = self.work.get(page.table, row["id"], company=scope.company) or row
        return row

    def prepare(self, page: ApiPage, scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
        """The validated table values of a new record (before numbering)."""
        if not page.editable:
            raise method_not_allowed("POST", page.entity_set)
        values = table_values(page, body, None)
        return validate_relations(self.work, page.table, scope.company, values, None)

    def create_many(self, page: ApiPage, scope: Scope, prepared: list[dict[str, Any]]) -> list[Row]:
        """Insert records of a top-level page prepared by `prepare`, with one statement.

        Raises DuplicateKey (the caller falls back to one insert per record to tell which failed).
        """
        self._number(page, scope, prepared)
        rows = self.work.insert_many(
            page.table, prepared, actor=self.actor, company=scope.company, as_system=True
        )
        if page.table is t.CUSTOMER:
            customer_contacts.on_insert(self.work, self.repository, scope.company, rows, self.actor)
        return rows

    def _number(self, page: ApiPage, scope: Scope, records: list[dict[str, Any]]) -> None:
        """Give records without a number the next numbers of the table's series."""
        series = numbering.series_for(page.table)
        if series is None:
            return
        unnumbered = [values for values in records if not values.get(series.attribute)]
        if not unnumbered:
            return
        numbers = numbering.next_numbers(
            self.work, page.table, self.repository.table(page.table), scope.company, len(unnumbered)
        )
        for values, number in zip(unnumbered, numbers, strict=True):
            values[series.attribute] = number

    def update(
        self, page: ApiPage, scope: Scope, key: str, body: dict[str, Any], if_match: str | None
    ) -> Row:
        if not page.editable:
            raise method_not_allowed("PATCH", page.entity_set)
        expected = self._expected_version(if_match)
        current = self._current(page, scope, key)
        self._refuse_posted(page, current, scope.company)
        values = table_values(page, body, current)
        values = validate_relations(self.work, page.table, scope.company, values, current)
        if page.parent_field is not None:
            values = self._priced({**current, **values}, values)
        try:
            row = self.work.update(
                page.table,
                key,
                values,
                expected_version=expected,
                actor=self.actor,
                company=scope.company,
                as_system=True,
            )
        except (VersionMismatch, NotFound, DuplicateKey, ValidationFailed) as error:
            raise _storage_error(page, error, key) from None
        if page.table is t.CUSTOMER:
            customer_contacts.on_modify(self.work, scope.company, current, row, self.actor)
        if page.parent_field is not None:
            self._recalculate(row[page.parent_field], scope.company)
        return row

    def delete(self, page: ApiPage, scope: Scope, key: str, if_match: str | None) -> None:
        if not page.editable:
            raise method_not_allowed("DELETE", page.entity_set)
        expected = self._expected_version(if_match)
        current = self._current(page, scope, key)
        self._refuse_posted(page, current, scope.company)
        if page.table is t.CUSTOMER:
            customer_delete.check_delete(self.work, current, scope.company)
        try:
            self.work.delete(page.table, key, expected_version=expected, company=scope.company)
        except (VersionMismatch, NotFound) as error:
            raise _storage_error(page, error, key) from None
        if page.table is t.CUSTOMER:
            customer_contacts.on_delete(self.work, scope.company, current)
        if page.table is t.SALES_INVOICE:
            # Deleting a document deletes its lines, as BC's OnDelete trigger does.
            for line in self.work.find(t.SALES_INVOICE_LINE, {"documentId": key}, company=scope.company):
                self.work.delete(t.SALES_INVOICE_LINE, line["id"], company=scope.company)
        if page.parent_field is not None:
            self._recalculate(current[page.parent_field], scope.company)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _expected_version(if_match: str | None) -> int | None:
        if if_match is None:
            raise missing_if_match()
        return parse_if_match(if_match)

    def _current(self, page: ApiPage, scope: Scope, key: str) -> Row:
        row = self.work.get(page.table, key, company=scope.company)
        if row is None or (
            scope.parent_id is not None and page.parent_field and row[page.parent_field] != scope.parent_id
        ):
            raise record_not_found(page.caption, key)
        return row

    def _refuse_posted(self, page: ApiPage, row: Row, company: str) -> None:
        """Posted invoices and their lines are history: BC refuses to change or delete them."""
        if page.parent_field is not None:
            _refuse_posted_invoice(
                self.work.get(t.SALES_INVOICE, row[page.parent_field], company=company) or {}
            )
        elif page.table is t.SALES_INVOICE:
            _refuse_posted_invoice(row)

    def _deep_insert_lines(
        self, page: ApiPage, body: dict[str, Any]
    ) -> tuple[ApiPage, list[dict[str, Any]]] | None:
        navigation = next((n for n in page.navigations if n.many and n.name in body), None)
        if navigation is None:
            return None
        documents = body[navigation.name]
        if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
            raise bad_request(f"Invalid Request Body: '{navigation.name}' must be an array of objects")
        line_page = self.pages.page(navigation.target)
        assert line_page is not None  # navigations are checked when the pages are indexed
        return line_page, documents

    def _line_values(self, page: ApiPage, scope: Scope, values: dict[str, Any]) -> dict[str, Any]:
        """A new line: of the document in the URL (or body), on a draft, numbered after the last line."""
        field = page.parent_field
        assert field is not None
        document_id = scope.parent_id or values.get(field)
        if not document_id:
            raise bad_request(f"The property '{page_name(page, field)}' is required to create a line")
        if scope.parent_id is not None and values.get(field, scope.parent_id) != scope.parent_id:
            raise bad_request(f"The property '{field}' does not match the document in the URL")
        document = self.work.get(t.SALES_INVOICE, document_id, company=scope.company)
        if document is None:
            raise record_not_found(t.CAPTIONS[t.SALES_INVOICE.logical_name], document_id)
        _refuse_posted_invoice(document)
        values = {**values, field: document_id}
        if not values.get("sequence"):
            lines = self.work.find(t.SALES_INVOICE_LINE, {field: document_id}, company=scope.company)
            values["sequence"] = max((line["sequence"] for line in lines), default=0) + LINE_NO_STEP
        merged = {a.name: a.default for a in t.SALES_INVOICE_LINE.attributes} | values
        return self._priced(merged, values)

    @staticmethod
    def _priced(line: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """The line's computed amounts (the service's own fields) from quantity, price, discount, VAT %."""
        quantity, price = Decimal(line["quantity"]), Decimal(line["unitPrice"])
        gross = (quantity * price).quantize(_CENTS, ROUND_HALF_UP)
        if "discountPercent" in values and "discountAmount" not in values:
            discount = (gross * Decimal(line["discountPercent"]) / 100).quantize(_CENTS, ROUND_HALF_UP)
        else:
            discount = Decimal(line["discountAmount"])
        net = gross - discount
        tax = (net * Decimal(line["taxPercent"]) / 100).quantize(_CENTS, ROUND_HALF_UP)
        computed = {
            "discountAmount": discount,
            "amountExcludingTax": net,
            "totalTaxAmount": tax,
            "amountIncludingTax": net + tax,
            "netAmount": net,
            "netTaxAmount": tax,
            "netAmountIncludingTax": net + tax,
        }
        return {**values, **computed}

    def _recalculate(self, document_id: str, company: str) -> None:
        """Header totals = the sum of its lines (BC recalculates them on every line change)."""
        lines = self.work.find(t.SALES_INVOICE_LINE, {"documentId": document_id}, company=company)
        net = sum((Decimal(line["amountExcludingTax"]) for line in lines), Decimal(0))
        tax = sum((Decimal(line["totalTaxAmount"]) for line in lines), Decimal(0))
        self.work.update(
            t.SALES_INVOICE,
            document_id,
            {
                "totalAmountExcludingTax": net,
                "totalTaxAmount": tax,
                "totalAmountIncludingTax": net + tax,
                "remainingAmount": net + tax,
            },
            company=company,
            as_system=True,
        )
