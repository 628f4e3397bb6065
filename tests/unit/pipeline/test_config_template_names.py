"""A configuration template line's BC field name → the bcsync API page's property it writes."""

from __future__ import annotations

import pytest

from bcsync.pipeline.config_templates import property_name


@pytest.mark.parametrize(
    ("field_name", "property"),
    [
        ("Payment Terms Code", "paymentTermsCode"),
        ("Shipment Method Code", "shipmentMethodCode"),
        ("Fax No.", "faxNo"),
        ("No.", "no"),
        ("Price Includes VAT", "priceIncludesVAT"),
        ("VAT Bus. Posting Group", "vatBusPostingGroup"),
        ("Credit Limit (LCY)", "creditLimitLCY"),
    ],
)
def test_property_is_the_lower_camel_case_of_the_field_name_without_punctuation(field_name, property):
    assert property_name(field_name) == property
