"""`$metadata`: the CSDL (OData v4 XML) of one API route, derived from its pages.

Enum members that are not identifiers (" ", "In Review") are written the way BC writes them,
with XML-encoded characters: `_x0020_`, `In_x0020_Review`.
"""

from __future__ import annotations

import re
from functools import cache
from xml.sax.saxutils import quoteattr

from sandbox.bc.pages import ApiPage, PageIndex
from sandbox.bc.wire import edm_type, enum_type_name
from sandbox.storage.schema import AttributeType

_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_]")


def member_name(value: str) -> str:
    """An enum member as a CSDL identifier, encoding other characters as `_xHHHH_`."""
    return "".join(c if _IDENTIFIER_CHAR.match(c) else f"_x{ord(c):04X}_" for c in value)


def _property(page: ApiPage, name: str) -> str:
    page_field = page.by_name[name]
    attribute = page.attribute(page_field)
    facets = [f"Name={quoteattr(name)}", f"Type={quoteattr(edm_type(page, attribute))}"]
    if name == "id":
        facets.append('Nullable="false"')
    if attribute.type is AttributeType.STRING and attribute.max_length is not None:
        facets.append(f'MaxLength="{attribute.max_length}"')
    if attribute.type is AttributeType.DECIMAL:
        facets.append('Scale="Variable"')
    if name == "id" and page.takes_chosen_id:
        term = "Immutable"  # given on insert, never changed
    elif attribute.read_only or not page.editable:
        term = "Computed"
    else:
        return f"<Property {' '.join(facets)}/>"
    return (
        f'<Property {" ".join(facets)}><Annotation Term="Org.OData.Core.V1.{term}" Bool="true"/></Property>'
    )


def _entity_type(page: ApiPage, pages: PageIndex) -> str:
    parts = [f'<EntityType Name="{page.entity_name}"><Key><PropertyRef Name="id"/></Key>']
    parts += [_property(page, f.name) for f in page.fields]
    for navigation in page.navigations:
        target = pages.page(navigation.target)
        if target is None:
            continue
        kind = f"Collection({target.qualified_type})" if navigation.many else target.qualified_type
        parts.append(f'<NavigationProperty Name="{navigation.name}" Type="{kind}"/>')
    parts.append("</EntityType>")
    return "".join(parts)


def _enum_types(page: ApiPage) -> list[str]:
    types = []
    for page_field in page.fields:
        attribute = page.attribute(page_field)
        if attribute.type is not AttributeType.ENUM:
            continue
        members = "".join(
            f'<Member Name="{member_name(value)}" Value="{ordinal}"/>'
            for ordinal, value in enumerate(attribute.options)
        )
        types.append(f'<EnumType Name="{enum_type_name(page, attribute)}">{members}</EnumType>')
    return types


def _entity_set(page: ApiPage, pages: PageIndex) -> str:
    bindings = "".join(
        f'<NavigationPropertyBinding Path="{n.name}" Target="{n.target}"/>'
        for n in page.navigations
        if pages.page(n.target) is not None
    )
    return f'<EntitySet Name="{page.entity_set}" EntityType="{page.qualified_type}">{bindings}</EntitySet>'


@cache
def csdl(pages: PageIndex) -> str:
    """The whole `$metadata` document of a route (computed once; pages are fixed at import)."""
    route_pages = list(pages.pages.values())
    namespace = pages.route.namespace
    body = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        "<edmx:DataServices>",
        f'<Schema Namespace="{namespace}" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
    ]
    for page in route_pages:
        body += _enum_types(page)
    body += [_entity_type(page, pages) for page in route_pages]
    body.append('<EntityContainer Name="NAV">')
    body += [_entity_set(page, pages) for page in route_pages]
    body += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "".join(body)
