"""Between BC's JSON and table rows: entities as a page shows them, request bodies as table values."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sandbox.bc.errors import BCError, bad_request
from sandbox.bc.etags import etag
from sandbox.bc.pages import ApiPage
from sandbox.bc.tables import CodeAttribute
from sandbox.odata.payload import unpaired_surrogate
from sandbox.storage.database import VERSION_COLUMN
from sandbox.storage.errors import ValidationFailed
from sandbox.storage.schema import Attribute, AttributeType
from sandbox.storage.values import coerce, to_wire, utf16_length

# Set by the service on every write; a client sending them back (as read from a GET) is not an error.
SYSTEM_MANAGED = frozenset({"lastModifiedDateTime"})

_EDM_TYPES = {
    AttributeType.STRING: "Edm.String",
    AttributeType.MEMO: "Edm.String",
    AttributeType.INTEGER: "Edm.Int32",
    AttributeType.DECIMAL: "Edm.Decimal",
    AttributeType.BOOLEAN: "Edm.Boolean",
    AttributeType.GUID: "Edm.Guid",
    AttributeType.DATETIME: "Edm.DateTimeOffset",
    AttributeType.DATE: "Edm.Date",
}


def edm_type(page: ApiPage, attribute: Attribute) -> str:
    """The CSDL type of a page property; enums are types of the route's namespace."""
    if attribute.type is AttributeType.ENUM:
        return f"{page.route.namespace}.{enum_type_name(page, attribute)}"
    return _EDM_TYPES[attribute.type]


def enum_type_name(page: ApiPage, attribute: Attribute) -> str:
    return f"{page.entity_name}{attribute.name[0].upper()}{attribute.name[1:]}"


def entity(page: ApiPage, row: Mapping[str, Any], select: Iterable[str] | None = None) -> dict[str, Any]:
    """A table row as the page's JSON entity (with `@odata.etag`), limited to `select` if given."""
    wanted = None if select is None else set(select)
    body: dict[str, Any] = {"@odata.etag": etag(row[VERSION_COLUMN])}
    for page_field in page.fields:
        if wanted is not None and page_field.name not in wanted:
            continue
        attribute = page.attribute(page_field)
        body[page_field.name] = to_wire(attribute, row[attribute.column])
    return body


def dumps(document: Any) -> bytes:
    return json.dumps(document, default=_decimal, separators=(",", ":")).encode()


def _decimal(value: Any) -> Any:
    # to_wire hands over a Decimal only beyond float precision; BC writes such values as numbers.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a POST/PATCH body; BC refuses anything else."""
    if not raw.strip():
        raise bad_request("The request body is empty; a JSON object with the entity's properties is expected")
    try:
        document = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(f"Invalid Request Body: the body is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise bad_request("Invalid Request Body: a JSON object is expected")
    if (surrogate := unpaired_surrogate(document)) is not None:
        raise bad_request(f"Invalid Request Body: the body is not valid JSON ({surrogate})")
    return document


def table_values(page: ApiPage, body: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """Table attribute values for the properties a client wrote (`current` is None on create).

    Annotations (`@odata.etag`...) and system-managed fields are ignored; `id` may be chosen on
    create on the pages that take it (`ApiPage.takes_chosen_id`); a read-only field is ignored when
    it repeats the stored value (a client sending back what it read) and refused otherwise; Code
    fields are upper-cased.
    """
    values: dict[str, Any] = {}
    for name, value in body.items():
        if "@" in name or name in SYSTEM_MANAGED:
            continue
        if page.navigation(name) is not None:
            continue  # deep insert: the caller handles nested collections
        page_field = page.by_name.get(name)
        if page_field is None:
            raise BCError(
                400,
                "BadRequest",
                f"The property '{name}' does not exist on type '{page.qualified_type}'. "
                "Make sure to only use property names that are defined by the type",
            )
        attribute = page.attribute(page_field)
        converted = _converted(page, attribute, value)
        if name == "id" and current is None and page.takes_chosen_id:
            values["id"] = converted
        elif attribute.read_only or not page.editable:
            if current is None or current[attribute.column] != converted:
                raise bad_request(f"The property '{name}' is read-only and cannot be set")
        else:
            values[attribute.name] = converted
    return values


def _converted(page: ApiPage, attribute: Attribute, value: Any) -> Any:
    if value is None:
        raise bad_request(
            f"Cannot convert the literal 'null' to the expected type '{edm_type(page, attribute)}'"
        )
    if (
        isinstance(value, str)
        and attribute.max_length is not None
        and (length := utf16_length(value)) > attribute.max_length
    ):
        raise BCError(
            400,
            "Application_StringExceededLength",
            f"The length of the string is {length}, but it must be less than or equal to "
            f"{attribute.max_length} characters. Value: {value}",
        )
    try:
        converted = coerce(attribute, value)
    except ValidationFailed:
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type '{edm_type(page, attribute)}'"
        ) from None
    if isinstance(attribute, CodeAttribute):
        return code_upper(converted)
    return converted


def code_upper(text: str) -> str:
    """A Code field's value in upper case, character by character as BC's (.NET) `UpperCase` does: a
    character whose capital is more than one character (ß, ﬁ) stays as it is, so the length holds."""
    return "".join(upper if len(upper := char.upper()) == 1 else char for char in text)
