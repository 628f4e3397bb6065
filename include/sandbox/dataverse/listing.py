"""`$filter`/`$select` over lists the service computes rather than stores: metadata and message filters.

The filter text is parsed by `sandbox.odata`; here its tree is evaluated against plain dicts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sandbox.dataverse.errors import bad_request
from sandbox.odata import ODataError, parse_filter
from sandbox.odata.syntax_tree import And, Call, Comparison, In, Literal, Node, Not, Or, Property
from sandbox.storage.schema import EntitySchema

_MESSAGE_NAMESPACE = uuid.UUID("4b0f3a9e-7c21-4d6b-8e5f-1a2b3c4d5e6f")
# The bulk-support probe filters through the sdkmessageid lookup; it is the one navigation path served.
MESSAGE_NAME_PATH = "sdkmessageid/name"
MESSAGE_NAME = "sdkmessagename"
# UpsertMultiple is not listed: a table with CreateMultiple and UpdateMultiple supports it.
PROBED_MESSAGES = ("CreateMultiple", "UpdateMultiple")


def filtered(items: Iterable[dict[str, Any]], text: str | None) -> list[dict[str, Any]]:
    if not text:
        return list(items)
    try:
        tree = parse_filter(text)
    except ODataError as error:
        raise bad_request(error.message) from None
    return [item for item in items if _truth(tree, item)]


def selected(item: dict[str, Any], text: str | None, always: Iterable[str] = ()) -> dict[str, Any]:
    if not text:
        return item
    names = {name.strip() for name in text.split(",") if name.strip()}
    for name in names:
        if name not in item:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.Metadata'."
            )
    keep = names | set(always) | {key for key in item if key.startswith("@")}
    return {key: value for key, value in item.items() if key in keep}


def message_filters(schemas: Iterable[EntitySchema]) -> list[dict[str, Any]]:
    """sdkmessagefilter rows for the bulk messages each table supports."""
    rows = []
    for schema in schemas:
        if not schema.bulk_messages:
            continue
        for message in PROBED_MESSAGES:
            rows.append(
                {
                    "sdkmessagefilterid": str(
                        uuid.uuid5(_MESSAGE_NAMESPACE, f"{message}:{schema.logical_name}")
                    ),
                    "primaryobjecttypecode": schema.logical_name,
                    "_sdkmessageid_value": str(uuid.uuid5(_MESSAGE_NAMESPACE, message)),
                    MESSAGE_NAME: message,
                    "isvisible": True,
                    "iscustomprocessingstepallowed": True,
                }
            )
    return rows


def message_filter_query(text: str | None) -> str | None:
    return text.replace(MESSAGE_NAME_PATH, MESSAGE_NAME) if text else text


def _truth(node: Node, item: dict[str, Any]) -> bool:
    if isinstance(node, And):
        return _truth(node.left, item) and _truth(node.right, item)
    if isinstance(node, Or):
        return _truth(node.left, item) or _truth(node.right, item)
    if isinstance(node, Not):
        return not _truth(node.operand, item)
    if isinstance(node, Comparison):
        return _compare(node.operator, _value(node.left, item), _value(node.right, item))
    if isinstance(node, In):
        subject = _folded(_value(node.operand, item))
        return any(subject == _folded(literal.value) for literal in node.values)
    if isinstance(node, Call) and node.name in ("contains", "startswith", "endswith"):
        subject, pattern = (_value(argument, item) for argument in node.arguments)
        if not isinstance(subject, str) or not isinstance(pattern, str):
            return False
        subject, pattern = subject.lower(), pattern.lower()
        if node.name == "contains":
            return pattern in subject
        return subject.startswith(pattern) if node.name == "startswith" else subject.endswith(pattern)
    if isinstance(node, Property):
        return bool(_value(node, item))
    raise bad_request("The $filter expression is not a true/false condition.")


def _value(node: Node, item: dict[str, Any]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Property):
        if node.name not in item:
            raise bad_request(
                f"Could not find a property named '{node.name}' on type 'Microsoft.Dynamics.CRM.Metadata'."
            )
        value = item[node.name]
        # Label-valued properties compare by their text.
        if isinstance(value, dict) and "UserLocalizedLabel" in value:
            return (value["UserLocalizedLabel"] or {}).get("Label")
        if isinstance(value, dict) and "Value" in value:
            return value["Value"]
        return value
    if isinstance(node, Call) and node.name in ("tolower", "toupper"):
        inner = _value(node.arguments[0], item)
        return inner.lower() if isinstance(inner, str) else inner
    raise bad_request("Each comparison needs a property on one side and a literal value on the other.")


def _folded(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(operator: str, left: Any, right: Any) -> bool:
    left, right = _folded(left), _folded(right)
    if operator == "eq":
        return left == right
    if operator == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[operator]
    except TypeError:
        raise bad_request(f"The values {left!r} and {right!r} cannot be compared.") from None
