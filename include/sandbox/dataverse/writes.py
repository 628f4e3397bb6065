"""Create, update, upsert and delete of one record, shared by single requests, `$batch` and bulk messages.

A JSON body becomes attribute values here: `nav@odata.bind` URLs are resolved to GUIDs, read-only
columns are ignored (as Dataverse does), and values the service computes (owner, exchange rate, full
name, product number) are filled in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from sandbox.dataverse import price_list_items
from sandbox.dataverse.catalog import Catalog
from sandbox.dataverse.errors import (
    DataverseError,
    bad_request,
    duplicate_record,
    from_storage,
    record_not_found,
    unknown_property,
    version_mismatch,
)
from sandbox.dataverse.records import VERSION_NUMBER, parse_etag
from sandbox.dataverse.resources import KeyPredicate, key_values, locate, parse_segments, relative_reference
from sandbox.dataverse.sales_documents import SalesDocuments
from sandbox.storage.database import VERSION_COLUMN
from sandbox.storage.errors import StorageError, ValidationFailed
from sandbox.storage.repository import Row, UnitOfWork
from sandbox.storage.schema import AttributeType, EntitySchema
from sandbox.storage.values import coerce

BIND = "@odata.bind"
PRODUCT_DRAFT, PRODUCT_DRAFT_STATUS = 2, 0
ENTITY_REFERENCE_MESSAGE = (
    "CRM do not support direct update of Entity Reference properties, Use Navigation properties instead."
)


@dataclass
class WriteResult:
    row: Row
    created: bool


class RecordWriter:
    """Writes of one caller (`actor`, a systemuserid) inside one unit of work.

    `references` maps `$n` Content-IDs of the current change set to entity URLs (`accounts(<id>)`).
    """

    def __init__(
        self,
        catalog: Catalog,
        work: UnitOfWork,
        actor: str,
        table_of: Callable[[EntitySchema], Table],
        references: Mapping[str, str] | None = None,
    ) -> None:
        self.catalog = catalog
        self.work = work
        self.actor = actor
        self.table_of = table_of
        self.references = references or {}
        self._lookups: dict[tuple[str, str], Row | None] = {}  # rows read for computed columns
        self.sales_documents = SalesDocuments(work, lambda name: catalog.by_logical_name[name])

    # -- body ---------------------------------------------------------------------------------

    def values_from_body(self, schema: EntitySchema, body: Any) -> dict[str, Any]:
        """Attribute values (by logical name) from a JSON entity body."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object describing one entity.")
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@odata.") or name.startswith("@"):
                continue  # @odata.type / @odata.id / @odata.etag are the callers' business
            if name.endswith(BIND):
                attribute_name, target = self._bind(schema, name[: -len(BIND)], value)
                values[attribute_name] = target
                continue
            if "@" in name:
                continue  # instance annotations on properties (FormattedValue...) are ignored
            values.update(self._plain(schema, name, value))
        self._check_ranges(schema, values)
        return values

    def _plain(self, schema: EntitySchema, name: str, value: Any) -> dict[str, Any]:
        if name == VERSION_NUMBER:
            return {}
        attribute = schema.attribute(name)
        if attribute is None:
            if self.catalog.navigation(schema, name) is not None:
                raise DataverseError(
                    501,
                    "0x8004800d",
                    f"Deep insert through the navigation property '{name}' is not supported by the sandbox.",
                )
            raise unknown_property(name, schema.logical_name)
        if attribute.type is AttributeType.LOOKUP:
            if name == attribute.column:
                raise bad_request(ENTITY_REFERENCE_MESSAGE)
            raise bad_request(
                f"A node of type 'PrimitiveValue' was read from the JSON reader when trying to read the "
                f"contents of the navigation property '{name}'; however, a 'StartObject' node or "
                f"'@odata.bind' annotation was expected."
            )
        if attribute.read_only and attribute.name != schema.key:
            return {}  # Dataverse ignores columns that are not valid for create/update
        return {attribute.name: value}

    def _bind(self, schema: EntitySchema, navigation_name: str, value: Any) -> tuple[str, str | None]:
        navigation = self.catalog.navigation(schema, navigation_name)
        if navigation is None or navigation.collection:
            raise bad_request(
                f"An undeclared property '{navigation_name}' which only has property annotations in the "
                f"payload but no property value was found in the payload. In OData, only declared "
                f"navigation properties and declared named streams can be represented as properties "
                f"without values."
            )
        if navigation.attribute.read_only:
            raise bad_request(f"The navigation property '{navigation_name}' cannot be set; it is read-only.")
        if value is None:
            return navigation.attribute.name, None
        if not isinstance(value, str):
            raise bad_request(f"The value of '{navigation_name}@odata.bind' must be an entity URL string.")
        target, key = self.reference(value)
        if target.logical_name != navigation.target.logical_name:
            raise bad_request(
                f"The navigation property '{navigation_name}' refers to "
                f"'Microsoft.Dynamics.CRM.{navigation.target.logical_name}', but the bound URL '{value}' "
                f"names '{target.set_name}'."
            )
        if key.primary is not None:
            if self._related(target.logical_name, key.primary) is None:
                raise record_not_found(target.logical_name, key.primary)
            return navigation.attribute.name, key.primary
        row = locate(self.work, target, key)
        assert row is not None
        return navigation.attribute.name, row[target.key]

    def reference(self, url: str) -> tuple[EntitySchema, KeyPredicate]:
        """The table and key an entity URL names (`/accounts(id)`, absolute, alternate key or `$n`)."""
        text = relative_reference(url)
        if text.startswith("$"):
            resolved = self.references.get(text)
            if resolved is None:
                raise bad_request(f"Content-ID Reference: '{text}' does not exist in the batch context.")
            text = relative_reference(resolved)
        segments = parse_segments(text)
        if len(segments) != 1 or segments[0].key is None:
            raise bad_request(f"The URL '{url}' does not name a single entity such as accounts(<id>).")
        schema = self.catalog.entity_set(segments[0].name)
        return schema, segments[0].key

    def _check_ranges(self, schema: EntitySchema, values: dict[str, Any]) -> None:
        for name, (low, high) in self.catalog.facts(schema).ranges.items():
            if values.get(name) is None:
                continue
            attribute = schema.attribute(name)
            assert attribute is not None
            number = self._coerced(schema, attribute.name, values[name])
            if not low <= number <= high:
                raise bad_request(
                    f"A validation error occurred. The value {values[name]} of '{name}' on record of type "
                    f"'{schema.logical_name}' is outside the valid range ({low} to {high}).",
                    "0x80044331",
                )

    def _coerced(self, schema: EntitySchema, name: str, value: Any) -> Any:
        attribute = schema.attribute(name)
        assert attribute is not None
        try:
            return coerce(attribute, value)
        except ValidationFailed as error:
            raise self._storage_error(schema, error) from None

    # -- operations ---------------------------------------------------------------------------

    def create(self, schema: EntitySchema, values: dict[str, Any]) -> Row:
        self._complete(schema, values, current=None)
        try:
            row = self.work.insert(schema, values, actor=self.actor, as_system=True)
        except StorageError as error:
            raise self._storage_error(schema, error) from None
        self._after_create(schema, [row])
        self.sales_documents.after(schema, row)
        return row

    def create_many(self, schema: EntitySchema, rows: list[dict[str, Any]]) -> list[Row]:
        for position, values in enumerate(rows):
            self._complete(schema, values, current=None, pending=rows[:position])
        try:
            created = self.work.insert_many(schema, rows, actor=self.actor, as_system=True)
        except StorageError as error:
            raise self._storage_error(schema, error) from None
        self._after_create(schema, created)
        for row in created:
            self.sales_documents.after(schema, row)
        return created

    def _after_create(self, schema: EntitySchema, rows: list[Row]) -> None:
        """What Dataverse creates with a row: a unit group gets its base unit, named `baseuomname`
        with quantity 1 (the unit every product of the group is sold in by default)."""
        if schema.logical_name != "uomschedule" or not rows:
            return
        unit = self.catalog.by_logical_name["uom"]
        units = [
            {
                "name": row["baseuomname"],
                "uomscheduleid": row["uomscheduleid"],
                "quantity": 1,
                "isschedulebaseuom": True,
            }
            for row in rows
        ]
        try:
            created = self.work.insert_many(unit, units, actor=self.actor, as_system=True)
            for row in created:  # the base unit is its own base
                self.work.update(
                    unit, row["uomid"], {"baseuom": row["uomid"]}, actor=self.actor, as_system=True
                )
        except StorageError as error:
            raise self._storage_error(unit, error) from None

    def update(
        self, schema: EntitySchema, current: Row, values: dict[str, Any], expected_version: int | None = None
    ) -> Row:
        if schema.key in values and str(values[schema.key]).lower() == current[schema.key]:
            del values[schema.key]  # repeating the record's own key in the body is harmless
        self._complete(schema, values, current=current)
        try:
            row = self.work.update(
                schema,
                current[schema.key],
                values,
                expected_version=expected_version,
                actor=self.actor,
                as_system=True,
            )
        except StorageError as error:
            raise self._storage_error(schema, error) from None
        self.sales_documents.after(schema, row)
        return row

    def delete(self, schema: EntitySchema, row: Row, expected_version: int | None = None) -> None:
        try:
            self.work.delete(schema, row[schema.key], expected_version=expected_version)
        except StorageError as error:
            raise self._storage_error(schema, error) from None
        self.sales_documents.after(schema, row)

    def upsert(
        self,
        schema: EntitySchema,
        key: KeyPredicate,
        values: dict[str, Any],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> WriteResult:
        """PATCH to a key URL: update when the row exists, else create (unless If-Match forbids)."""
        current = locate(self.work, schema, key, must_exist=False)
        if current is None:
            if if_match is not None:
                raise record_not_found(schema.logical_name, key.primary or _shown(key))
            values = {**self._key_columns(schema, key), **values}  # body values win on create
            return WriteResult(self.create(schema, values), created=True)
        if if_none_match is not None and if_none_match.strip() == "*":
            raise duplicate_record()
        expected = None
        if if_match is not None and if_match.strip() != "*":
            expected = parse_etag(if_match)
            if expected is None or expected != current[VERSION_COLUMN]:
                raise version_mismatch()
        if key.primary is None:
            for name in key_values(schema, key):
                values.pop(name, None)  # alternate-key columns are not updated through the body
        return WriteResult(self.update(schema, current, values, expected), created=False)

    def _key_columns(self, schema: EntitySchema, key: KeyPredicate) -> dict[str, Any]:
        if key.primary is not None:
            return {schema.key: key.primary}
        return dict(key_values(schema, key))

    # -- computed columns ---------------------------------------------------------------------

    def _complete(
        self,
        schema: EntitySchema,
        values: dict[str, Any],
        current: Row | None,
        pending: list[dict[str, Any]] | None = None,
    ) -> None:
        """Fill the columns Dataverse computes on write (and refuse what its platform rules refuse)."""
        self.sales_documents.check(schema, values, current)
        if current is None and schema.attribute("ownerid") is not None and values.get("ownerid") is None:
            values["ownerid"] = self.actor
        if current is None and schema.logical_name == "product":
            # A new organization creates products in Draft (CreateProductsWithoutParentInActiveState
            # is false); a product is published by setting its state to Active afterwards.
            values.update({"statecode": PRODUCT_DRAFT, "statuscode": PRODUCT_DRAFT_STATUS})
        facts = self.catalog.facts(schema)
        for target, parts in facts.composed.items():
            if current is None or any(part in values for part in parts):
                merged = [values.get(p, current.get(p) if current else None) for p in parts]
                values[target] = " ".join(str(p) for p in merged if p) or None
        if schema.logical_name == price_list_items.LOGICAL_NAME:
            price_list_items.check_price_list_item(schema, self.work, self._related, values, current, pending)
        self._exchange_rate(schema, values)
        if schema.logical_name == "productpricelevel" and values.get("productid"):
            product = self._related("product", values["productid"])
            if product is not None:
                values["productnumber"] = product["productnumber"]

    def _exchange_rate(self, schema: EntitySchema, values: dict[str, Any]) -> None:
        rate = schema.attribute("exchangerate")
        currency_id = values.get("transactioncurrencyid")
        if rate is None or not rate.read_only or not currency_id:
            return
        currency = self._related("transactioncurrency", currency_id)
        if currency is not None:
            values["exchangerate"] = currency["exchangerate"]

    def _related(self, logical_name: str, key: str) -> Row | None:
        # Bulk writes bind the same currency or product to many rows: read each once.
        cache_key = (logical_name, str(key).lower())
        if cache_key not in self._lookups:
            schema = self.catalog.by_logical_name.get(logical_name)
            self._lookups[cache_key] = self.work.get(schema, key) if schema else None
        return self._lookups[cache_key]

    def _storage_error(self, schema: EntitySchema, error: StorageError) -> DataverseError:
        return from_storage(error, schema.logical_name, self.catalog.max_lengths(schema))


def _shown(key: KeyPredicate) -> str:
    return ",".join(f"{name}={value}" for name, value in key.named.items())
