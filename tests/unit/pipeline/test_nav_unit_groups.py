"""The one "NAV <code>" unit group lookup of products and prices: BC's checks in its order, its messages."""

from __future__ import annotations

import pytest

from bcsync.pipeline.unit_groups import SalesUnit, UnitGroupError, UnitGroups

SALES = "Dynamics 365 Sales"


def groups(*rows: tuple[str, str], units: tuple[dict, ...] = ()) -> UnitGroups:
    """Unit groups (id, name) and their units, as `UnitGroups.read` indexes them."""
    by_id = {gid: {"uomscheduleid": gid, "name": name} for gid, name in rows}
    by_name: dict[str, list[dict]] = {}
    for group in by_id.values():
        by_name.setdefault(group["name"].casefold(), []).append(group)
    by_group: dict[str, list[dict]] = {}
    for unit in units:
        by_group.setdefault(unit["uomscheduleid"], []).append(unit)
    return UnitGroups(by_id, by_group, by_name)


def unit(name: str, group: str = "g1", *, base: bool = True, quantity: float = 1.0, uid: str = "u1") -> dict:
    return {
        "uomid": uid,
        "name": name,
        "uomscheduleid": group,
        "quantity": quantity,
        "isschedulebaseuom": base,
    }


def test_the_group_named_nav_code_gives_its_one_unit_whatever_the_case_of_the_name():
    found = groups(("g1", "nav pcs"), units=(unit("PCS"),)).unit_for("PCS")
    assert found == SalesUnit("g1", "u1")


@pytest.mark.parametrize(
    ("unit_groups", "message"),
    [
        (groups(("g1", "NAV BOX")), f"Cannot find the unit group 'NAV PCS' in {SALES}."),
        (
            groups(("g1", "NAV PCS"), ("g2", "nav pcs"), units=(unit("PCS"),)),
            f"Multiple units of measure were found in the unit group 'NAV PCS' in {SALES}.",
        ),
        # From here BC names the group as found (its case), no longer as expected.
        (
            groups(("g1", "Nav Pcs")),
            f"Cannot find any unit of measure inside the unit group 'Nav Pcs' in {SALES}.",
        ),
        (
            groups(("g1", "Nav Pcs"), units=(unit("PCS"), unit("BOX", uid="u2"))),
            f"Multiple units of measure were found in the unit group 'Nav Pcs' in {SALES}.",
        ),
        (
            groups(("g1", "NAV PCS"), units=(unit("Piece"),)),
            "The unit of measure in the unit group 'NAV PCS' has an incorrect name: expected name 'PCS', "
            "found name 'Piece'.",
        ),
        (
            groups(("g1", "NAV PCS"), units=(unit("PCS", base=False),)),
            "The unit of measure 'PCS' is not the base unit of measure of the unit group 'NAV PCS'.",
        ),
        (
            groups(("g1", "NAV PCS"), units=(unit("PCS", quantity=12),)),
            "The quantity on the unit of measure 'PCS' should be 1.",
        ),
    ],
)
def test_an_unusable_group_fails_with_bcs_message(unit_groups: UnitGroups, message: str):
    with pytest.raises(UnitGroupError) as error:
        unit_groups.unit_for("PCS")
    assert str(error.value) == message
