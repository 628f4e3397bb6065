"""Table metadata as clients read it: `EntityDefinitions` JSON and the `$metadata` CSDL document.

Both are derived from the entity schemas, so what a client discovers is what the service enforces.
"""

from __future__ import annotations

import uuid
from typing import Any
from xml.sax.saxutils import quoteattr

from sandbox.dataverse.catalog import Catalog
from sandbox.dataverse.records import VERSION_NUMBER
from sandbox.storage.schema import Attribute, AttributeType, EntitySchema

METADATA_NAMESPACE = uuid.UUID("8e1d6f0a-3b7c-4f2e-9d5a-6c4b2a1f0e93")
LANGUAGE_CODE = 1033
BULK_MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")

# SchemaName is the logical name in Pascal case; these are the real spellings.
SCHEMA_NAMES = {
    "account": "Account",
    "contact": "Contact",
    "transactioncurrency": "TransactionCurrency",
    "systemuser": "SystemUser",
    "businessunit": "BusinessUnit",
    "uomschedule": "UoMSchedule",
    "uom": "UoM",
    "product": "Product",
    "pricelevel": "PriceLevel",
    "productpricelevel": "ProductPriceLevel",
    "invoice": "Invoice",
    "invoicedetail": "InvoiceDetail",
    "nav_accountstatistics": "nav_AccountStatistics",
}

_EDM_TYPES = {
    AttributeType.STRING: "Edm.String",
    AttributeType.MEMO: "Edm.String",
    AttributeType.INTEGER: "Edm.Int32",
    AttributeType.CHOICE: "Edm.Int32",
    AttributeType.DECIMAL: "Edm.Decimal",
    AttributeType.MONEY: "Edm.Decimal",
    AttributeType.BOOLEAN: "Edm.Boolean",
    AttributeType.GUID: "Edm.Guid",
    AttributeType.LOOKUP: "Edm.Guid",
    AttributeType.DATETIME: "Edm.DateTimeOffset",
    AttributeType.DATE: "Edm.Date",
    AttributeType.ENUM: "Edm.String",
}

# AttributeType (Dataverse), AttributeTypeName, metadata class.
_ATTRIBUTE_KINDS = {
    AttributeType.STRING: ("String", "StringType", "StringAttributeMetadata"),
    AttributeType.MEMO: ("Memo", "MemoType", "MemoAttributeMetadata"),
    AttributeType.INTEGER: ("Integer", "IntegerType", "IntegerAttributeMetadata"),
    AttributeType.CHOICE: ("Picklist", "PicklistType", "PicklistAttributeMetadata"),
    AttributeType.DECIMAL: ("Decimal", "DecimalType", "DecimalAttributeMetadata"),
    AttributeType.MONEY: ("Money", "MoneyType", "MoneyAttributeMetadata"),
    AttributeType.BOOLEAN: ("Boolean", "BooleanType", "BooleanAttributeMetadata"),
    AttributeType.GUID: ("Uniqueidentifier", "UniqueidentifierType", "UniqueIdentifierAttributeMetadata"),
    AttributeType.LOOKUP: ("Lookup", "LookupType", "LookupAttributeMetadata"),
    AttributeType.DATETIME: ("DateTime", "DateTimeType", "DateTimeAttributeMetadata"),
    AttributeType.DATE: ("DateTime", "DateTimeType", "DateTimeAttributeMetadata"),
    AttributeType.ENUM: ("String", "StringType", "StringAttributeMetadata"),
}


def schema_name(logical_name: str) -> str:
    return SCHEMA_NAMES.get(logical_name, logical_name.capitalize())


def metadata_id(*parts: str) -> str:
    return str(uuid.uuid5(METADATA_NAMESPACE, "/".join(parts)))


def label(text: str) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": LANGUAGE_CODE, "IsManaged": True}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


# -- EntityDefinitions ---------------------------------------------------------------------------


def entity_definition(catalog: Catalog, schema: EntitySchema) -> dict[str, Any]:
    name = schema.logical_name
    facts = catalog.facts(schema)
    return {
        "MetadataId": metadata_id(name),
        "LogicalName": name,
        "SchemaName": schema_name(name),
        "EntitySetName": schema.set_name,
        "LogicalCollectionName": schema.set_name,
        "CollectionSchemaName": schema_name(name) + "s",
        "PrimaryIdAttribute": schema.key,
        "PrimaryNameAttribute": schema.primary_name,
        "ObjectTypeCode": schema.entity_type_code,
        "ChangeTrackingEnabled": schema.change_tracking,
        "OwnershipType": facts.ownership,
        "IsCustomEntity": name.startswith("nav_"),
        "IsActivity": False,
        "IsValidForAdvancedFind": True,
        "DisplayName": label(schema_name(name)),
    }


def attribute_definitions(catalog: Catalog, schema: EntitySchema) -> list[dict[str, Any]]:
    definitions = [attribute_definition(catalog, schema, attribute) for attribute in schema.attributes]
    definitions.append(_version_definition(schema))
    return definitions


def attribute_definition(catalog: Catalog, schema: EntitySchema, attribute: Attribute) -> dict[str, Any]:
    kind, type_name, metadata_class = _ATTRIBUTE_KINDS[attribute.type]
    if attribute.type is AttributeType.CHOICE and attribute.name in ("statecode", "statuscode"):
        kind = "State" if attribute.name == "statecode" else "Status"
        type_name = f"{kind}Type"
        metadata_class = f"{kind}AttributeMetadata"
    if attribute.type is AttributeType.LOOKUP:
        if attribute.name == "ownerid":
            kind, type_name, metadata_class = "Owner", "OwnerType", "LookupAttributeMetadata"
        elif len(attribute.targets) > 1:
            kind, type_name, metadata_class = "Customer", "CustomerType", "LookupAttributeMetadata"
    is_key = attribute.name == schema.key
    definition: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{metadata_class}",
        "MetadataId": metadata_id(schema.logical_name, attribute.name),
        "LogicalName": attribute.name,
        "SchemaName": attribute.name,
        "EntityLogicalName": schema.logical_name,
        "AttributeType": kind,
        "AttributeTypeName": {"Value": type_name},
        "IsPrimaryId": is_key,
        "IsPrimaryName": attribute.name == schema.primary_name,
        "IsValidForRead": True,
        "IsValidForCreate": is_key or not attribute.read_only,
        "IsValidForUpdate": not attribute.read_only,
        "IsCustomAttribute": attribute.name.startswith("nav_"),
        "RequiredLevel": {"Value": "SystemRequired" if attribute.required else "None"},
        "DisplayName": label(attribute.caption or attribute.name),
    }
    if attribute.max_length is not None:
        definition["MaxLength"] = attribute.max_length
    if attribute.type is AttributeType.LOOKUP:
        definition["Targets"] = sorted(set(attribute.targets.values()))
    if attribute.type is AttributeType.CHOICE:
        definition["OptionSet"] = option_set(catalog, schema, attribute)
    return definition


def option_set(catalog: Catalog, schema: EntitySchema, attribute: Attribute) -> dict[str, Any]:
    labels = catalog.facts(schema).option_labels.get(attribute.name, {})
    values = list(attribute.options) or list(labels)
    return {
        "MetadataId": metadata_id(schema.logical_name, attribute.name, "optionset"),
        "Name": f"{schema.logical_name}_{attribute.name}",
        "IsGlobal": False,
        "OptionSetType": "Picklist",
        "Options": [{"Value": value, "Label": label(labels.get(value, str(value)))} for value in values],
    }


def _version_definition(schema: EntitySchema) -> dict[str, Any]:
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.BigIntAttributeMetadata",
        "MetadataId": metadata_id(schema.logical_name, VERSION_NUMBER),
        "LogicalName": VERSION_NUMBER,
        "SchemaName": "VersionNumber",
        "EntityLogicalName": schema.logical_name,
        "AttributeType": "BigInt",
        "AttributeTypeName": {"Value": "BigIntType"},
        "IsPrimaryId": False,
        "IsPrimaryName": False,
        "IsValidForRead": True,
        "IsValidForCreate": False,
        "IsValidForUpdate": False,
        "IsCustomAttribute": False,
        "RequiredLevel": {"Value": "None"},
        "DisplayName": label("Version Number"),
    }


def key_definitions(schema: EntitySchema) -> list[dict[str, Any]]:
    return [
        {
            "MetadataId": metadata_id(schema.logical_name, "key", name),
            "LogicalName": name,
            "SchemaName": name,
            "EntityLogicalName": schema.logical_name,
            "KeyAttributes": list(attributes),
            "EntityKeyIndexStatus": "Active",
            "DisplayName": label(name),
        }
        for name, attributes in schema.alternate_keys.items()
    ]


# -- $metadata (CSDL) ----------------------------------------------------------------------------


def csdl(catalog: Catalog, *, annotations: bool = False) -> str:
    """The service's CSDL XML: entity types, bound bulk actions, WhoAmI and the entity container."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        "<edmx:DataServices>",
        '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
        '<EntityType Name="crmbaseentity" Abstract="true"/>',
    ]
    for schema in catalog.schemas:
        lines += _entity_type(catalog, schema)
    lines += [
        '<ComplexType Name="WhoAmIResponse">',
        '<Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/>',
        '<Property Name="UserId" Type="Edm.Guid" Nullable="false"/>',
        '<Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/>',
        "</ComplexType>",
        '<ComplexType Name="CreateMultipleResponse">',
        '<Property Name="Ids" Type="Collection(Edm.Guid)" Nullable="false"/>',
        "</ComplexType>",
        '<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function>',
    ]
    for action in BULK_MESSAGES:
        returns = (
            '<ReturnType Type="mscrm.CreateMultipleResponse" Nullable="false"/>'
            if action == "CreateMultiple"
            else ""
        )
        lines.append(
            f'<Action Name="{action}" IsBound="true">'
            '<Parameter Name="entityset" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>'
            '<Parameter Name="Targets" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>'
            f"{returns}</Action>"
        )
    lines.append('<EntityContainer Name="System">')
    for schema in catalog.schemas:
        lines += _entity_set(catalog, schema, annotations)
    lines += [
        '<EntitySet Name="EntityDefinitions" EntityType="mscrm.EntityMetadata"/>',
        '<FunctionImport Name="WhoAmI" Function="mscrm.WhoAmI"/>',
        "</EntityContainer>",
        "</Schema>",
        "</edmx:DataServices>",
        "</edmx:Edmx>",
    ]
    return "\n".join(lines)


def _entity_type(catalog: Catalog, schema: EntitySchema) -> list[str]:
    lines = [
        f'<EntityType Name="{schema.logical_name}" BaseType="mscrm.crmbaseentity">',
        f'<Key><PropertyRef Name="{schema.key}"/></Key>',
    ]
    for attribute in schema.attributes:
        facets = f' MaxLength="{attribute.max_length}"' if attribute.max_length else ""
        if attribute.type in (AttributeType.DECIMAL, AttributeType.MONEY):
            facets = ' Scale="Variable"'
        nullable = ' Nullable="false"' if attribute.name == schema.key else ""
        lines.append(
            f'<Property Name="{attribute.column}" Type="{_EDM_TYPES[attribute.type]}"{nullable}{facets}/>'
        )
    lines.append(f'<Property Name="{VERSION_NUMBER}" Type="Edm.Int64"/>')
    for navigation in catalog.navigations(schema).values():
        if navigation.collection:
            lines.append(
                f'<NavigationProperty Name="{navigation.name}" '
                f'Type="Collection(mscrm.{navigation.target.logical_name})"/>'
            )
        else:
            lines.append(
                f'<NavigationProperty Name="{navigation.name}" Type="mscrm.{navigation.target.logical_name}">'
                f'<ReferentialConstraint Property="{navigation.attribute.column}" '
                f'ReferencedProperty="{navigation.target.key}"/></NavigationProperty>'
            )
    lines.append("</EntityType>")
    return lines


def _entity_set(catalog: Catalog, schema: EntitySchema, annotations: bool) -> list[str]:
    lines = [f'<EntitySet Name={quoteattr(schema.set_name)} EntityType="mscrm.{schema.logical_name}">']
    for navigation in catalog.navigations(schema).values():
        lines.append(
            f'<NavigationPropertyBinding Path="{navigation.name}" Target="{navigation.target.set_name}"/>'
        )
    if annotations and schema.change_tracking:
        lines.append(
            '<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record>'
            '<PropertyValue Property="Supported" Bool="true"/></Record></Annotation>'
        )
    lines.append("</EntitySet>")
    return lines
