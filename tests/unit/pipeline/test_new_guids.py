"""Client-chosen ids for Dataverse creates: random version-4 GUIDs in canonical form, never repeated."""

from __future__ import annotations

import uuid

from bcsync.pipeline.writing import new_guids


def test_new_guids_are_canonical_random_version_4_guids() -> None:
    ids = new_guids(5_000)

    assert len(ids) == len(set(ids)) == 5_000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # lower case, hyphenated: as the journal and the service show it
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert new_guids(0) == []
    assert set(new_guids(100)).isdisjoint(ids)
