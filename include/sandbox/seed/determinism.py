"""Everything random in the seed data comes from here: seeded streams, name-derived GUIDs, a fixed clock.

Same seed → byte-identical data, so nothing reads the wall clock or the process-salted `hash()`.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

# The company's "today" (BC's work date): seed data is history up to this instant.
WORK_DATE = date(2026, 1, 15)
EPOCH = datetime(2026, 1, 15, 8, 0, 0, tzinfo=UTC)
HISTORY_DAYS = 730  # records were created over the two years before the work date
CENT = Decimal("0.01")


class SeedSource:
    """Deterministic GUIDs and random streams for one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"https://bcsync.local/sandbox-seed/{seed}")
        self._namespace = namespace.bytes

    def guid(self, table: str, key: object) -> str:
        """The GUID of row `key` of `table`: stable for a seed, different between seeds.

        Exactly `uuid.uuid5(namespace, f"{table}:{key}")`, formatted without building UUID objects
        (millions of rows are seeded).
        """
        digest = bytearray(hashlib.sha1(self._namespace + f"{table}:{key}".encode()).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
        digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
        text = digest.hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def stream(self, name: str, part: int = 0) -> random.Random:
        """An independent random stream; `part` lets chunked generation restart mid-way."""
        return random.Random(f"{self.seed}/{name}/{part}")


def moment(rng: random.Random, *, newest_days_ago: int = 0, oldest_days_ago: int = HISTORY_DAYS) -> datetime:
    """A millisecond-precision UTC instant between the given ages (in days before the epoch)."""
    seconds = rng.randint(newest_days_ago * 86_400, oldest_days_ago * 86_400)
    millis = rng.randint(0, 999)
    return EPOCH - timedelta(seconds=seconds, milliseconds=millis)


def money(value: float | int | Decimal) -> Decimal:
    """Round to cents the way BC rounds amounts (half away from zero)."""
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)
