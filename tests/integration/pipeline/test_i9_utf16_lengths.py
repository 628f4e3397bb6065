"""An emoji at the length boundary, Sales → BC: lengths are UTF-16 code units on both services (an
emoji is two), so a 100-unit name is written whole and a 101-unit one loses its last character whole,
never half a surrogate pair. The local BC refuses 101 units as the real one does."""

from __future__ import annotations

import uuid

import pytest
import requests

from bcsync.pipeline.context import RunKind

FROM_CRM = "FromIntegrationTable"
EMOJI = "\N{GRINNING FACE}"  # two UTF-16 code units
BC_NAME_LENGTH = 100  # Customer."Name", Text[100]


def name_of(units_before_emoji: int) -> str:
    prefix = f"Emoji {uuid.uuid4().hex} "
    return prefix.ljust(units_before_emoji, "x") + EMOJI


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (exact := name_of(BC_NAME_LENGTH - 2), exact),  # 100 units: kept, emoji and all
        (over := name_of(BC_NAME_LENGTH - 1), over[:-1]),  # 101 units: the emoji goes, whole
    ],
    ids=["100 units", "101 units"],
)
def test_a_sales_name_ending_in_an_emoji_reaches_bc_cut_at_100_utf16_units(harness, name, expected):
    harness.run("SALESPEOPLE", RunKind.FULL)
    harness.run("CURRENCY", RunKind.FULL)
    account = str(harness.crm.create("accounts", {"name": name, "customertypecode": 3})).lower()

    summary = harness.run("CUSTOMER", RunKind.FULL, direction=FROM_CRM)
    assert harness.counters(summary, FROM_CRM)["Failed"] == 0
    couplings = harness.store.couplings("CUSTOMER")
    coupled = couplings.loc[couplings["crm_id"] == account]
    assert len(coupled) == 1 and coupled["from_crm_result"].item() == "Success"
    customer = harness.bc.get("customers", coupled["bc_id"].item(), select=["displayName"])
    assert customer["displayName"] == expected
    again = harness.run("CUSTOMER")  # what BC holds is what a transfer gives: nothing left to write
    assert harness.counters(again, FROM_CRM)["Modified"] == harness.counters(again, FROM_CRM)["Failed"] == 0


def test_the_local_bc_refuses_101_utf16_units_as_the_real_one_does(harness):
    response = requests.post(
        f"{harness.sandbox.bc_company_url}/customers",
        json={"displayName": name_of(BC_NAME_LENGTH - 1)},
        headers={"Authorization": f"Bearer {harness.sandbox.token(harness.sandbox.bc_scope)}"},
        verify=str(harness.sandbox.ca_file),
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "Application_StringExceededLength"
