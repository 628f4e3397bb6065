"""Text lengths from the services' metadata: BC's `$metadata` MaxLength facets."""

from bcsync.registry.service_metadata import text_lengths_from_csdl

CSDL = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>
<Schema Namespace="Microsoft.NAV" Alias="nav" xmlns="http://docs.oasis-open.org/odata/ns/edm">
<EntityType Name="base"><Property Name="number" Type="Edm.String" MaxLength="20"/></EntityType>
<EntityType Name="customer" BaseType="nav.base"><Key><PropertyRef Name="id"/></Key>
<Property Name="id" Type="Edm.Guid" Nullable="false"/>
<Property Name="displayName" Type="Edm.String" MaxLength="100"/>
<Property Name="balance" Type="Edm.Decimal" Scale="Variable"/>
<Property Name="notes" Type="Edm.String" MaxLength="max"/>
</EntityType>
<EntityContainer Name="NAV">
<EntitySet Name="customers" EntityType="Microsoft.NAV.customer"/></EntityContainer>
</Schema></edmx:DataServices></edmx:Edmx>"""


def test_text_lengths_are_the_max_length_facets_base_types_included():
    # "max" (unbounded) and non-text properties have no length to truncate to.
    assert text_lengths_from_csdl(CSDL) == {"customers": {"displayName": 100, "number": 20}}
