"""The `EntityDefinitions` resource: tables, their `/Attributes` (with type casts) and `/Keys`.

Addressed as `EntityDefinitions`, `EntityDefinitions(LogicalName='account')` or by MetadataId;
`$select`, `$filter` and `$expand` (Attributes, Keys, OptionSet) apply as in Dataverse.
"""

from __future__ import annotations

from typing import Any

from sandbox.dataverse import listing, metadata
from sandbox.dataverse.catalog import Catalog
from sandbox.dataverse.errors import OBJECT_DOES_NOT_EXIST, DataverseError, bad_request, segment_not_found
from sandbox.dataverse.queries import QueryOptions
from sandbox.dataverse.resources import KeyPredicate, Segment
from sandbox.storage.schema import EntitySchema

ALWAYS = ("MetadataId",)  # Dataverse returns it whatever $select says


def read(
    catalog: Catalog, segments: list[Segment], options: QueryOptions, metadata_root: str
) -> dict[str, Any]:
    """The JSON document for a GET below `EntityDefinitions`; `metadata_root` ends in `$metadata#`."""
    head = segments[0]
    context = f"{metadata_root}EntityDefinitions"
    select = options.get("$select")
    if head.key is None:
        if len(segments) > 1:
            raise segment_not_found(segments[1].name)
        items = [_definition(catalog, schema, options.get("$expand")) for schema in catalog.schemas]
        items = listing.filtered(items, options.get("$filter"))
        return {
            "@odata.context": context,
            "value": [listing.selected(item, select, ALWAYS) for item in items],
        }
    schema = _schema(catalog, head.key)
    if len(segments) == 1:
        item = _definition(catalog, schema, options.get("$expand"))
        return {"@odata.context": f"{context}/$entity", **listing.selected(item, select, ALWAYS)}
    part = segments[1]
    if part.name == "Keys" and len(segments) == 2:
        keys = listing.filtered(metadata.key_definitions(schema), options.get("$filter"))
        return {"@odata.context": f"{context}/Keys", "value": keys}
    if part.name == "Attributes" and len(segments) <= 3:
        cast = segments[2].name if len(segments) == 3 else None
        return _attributes(catalog, schema, part.key, cast, options, f"{context}/Attributes")
    raise segment_not_found(part.name)


def _attributes(
    catalog: Catalog,
    schema: EntitySchema,
    key: KeyPredicate | None,
    cast: str | None,
    options: QueryOptions,
    context: str,
) -> dict[str, Any]:
    attributes = metadata.attribute_definitions(catalog, schema)
    if cast is not None:
        # A type cast segment such as Microsoft.Dynamics.CRM.PicklistAttributeMetadata.
        attributes = [item for item in attributes if item["@odata.type"] == f"#{cast}"]
    select = options.get("$select")
    if key is not None:
        name = key.named.get("LogicalName")
        found = [
            item for item in attributes if item["LogicalName"] == name or item["MetadataId"] == key.primary
        ]
        if not found:
            raise DataverseError(
                404, OBJECT_DOES_NOT_EXIST, f"Could not find attribute '{name or key.primary}'."
            )
        return {"@odata.context": f"{context}/$entity", **listing.selected(found[0], select, ALWAYS)}
    expands_options = "OptionSet" in (options.get("$expand") or "")
    value = []
    for item in listing.filtered(attributes, options.get("$filter")):
        shown = listing.selected(item, select, ALWAYS)
        if expands_options and "OptionSet" in item:
            shown["OptionSet"] = item["OptionSet"]
        elif select is not None:
            shown.pop("OptionSet", None)  # a navigation property: present only when expanded
        value.append(shown)
    return {"@odata.context": context, "value": value}


def _definition(catalog: Catalog, schema: EntitySchema, expand: str | None) -> dict[str, Any]:
    item = metadata.entity_definition(catalog, schema)
    if expand and "Attributes" in expand:
        item["Attributes"] = metadata.attribute_definitions(catalog, schema)
    if expand and "Keys" in expand:
        item["Keys"] = metadata.key_definitions(schema)
    return item


def _schema(catalog: Catalog, key: KeyPredicate) -> EntitySchema:
    if key.primary is not None:
        for schema in catalog.schemas:
            if metadata.metadata_id(schema.logical_name) == key.primary:
                return schema
        raise DataverseError(
            404, OBJECT_DOES_NOT_EXIST, f"Could not find entity with MetadataId '{key.primary}'."
        )
    if set(key.named) != {"LogicalName"}:
        raise bad_request("EntityDefinitions are addressed by MetadataId or LogicalName='<name>'.")
    logical_name = key.named["LogicalName"]
    schema = catalog.by_logical_name.get(str(logical_name))
    if schema is None:
        raise DataverseError(
            404, OBJECT_DOES_NOT_EXIST, f"Could not find an entity with name {logical_name} and MetadataId ."
        )
    return schema
