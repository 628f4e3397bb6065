"""The shared pipeline sandbox keeps tests apart: what one test leaves behind, the next does not see.

The first test leaves as much as it can (a record, limits, a fault rule, an edited mapping, couplings);
the second, run after it, finds the seed and the start settings. Alone, the second passes trivially.
"""

from __future__ import annotations

import os

from bcsync.pipeline.context import RunKind

LEFT_BEHIND = "Left behind by the previous test"


def test_leaves_data_protection_faults_and_a_mapping_edit_behind(harness):
    harness.crm.create("accounts", {"name": LEFT_BEHIND})
    harness.override_mapping("CURRENCY", update_conflict_resolution="Send Update to Integration")
    harness.run("CURRENCY", RunKind.FULL)
    harness.sandbox.admin(
        "dataverse", "PUT", "protection", {"limits": {"enabled": True, "max_requests": 10**6}}
    )
    rule = {"method": "DELETE", "path": "accounts", "fault": "status", "status": 503, "count": None}
    harness.sandbox.admin("bc", "POST", "faults", {"rules": [rule]})
    assert not harness.store.couplings("CURRENCY").empty


def test_starts_from_the_seed_and_the_start_settings(harness):
    names = [row["name"] for page in harness.crm.iter_pages("accounts", select=["name"]) for row in page]
    assert LEFT_BEHIND not in names
    assert "BCSYNC_MAPPINGS_DIR" not in os.environ
    assert harness.store.couplings("CURRENCY").empty
    assert harness.sandbox.admin("dataverse", "GET", "protection")["limits"]["enabled"] is False
    assert harness.sandbox.admin("bc", "GET", "faults") == {"rules": []}
    assert harness.sandbox.admin("bc", "GET", "stats")["total"] == 0
