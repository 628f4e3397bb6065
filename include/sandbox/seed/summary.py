"""What a seed run produced: rows per table per side, and the coupling story per integration mapping."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CouplingStory:
    """How the records of one mapping are spread before the first full synchronization.

    `shared`: on both sides with values that match (one candidate each); `ambiguous`: a BC record
    that two Dataverse records match; `bc_only` / `dataverse_only`: nothing on the other side matches.
    CUSTOMER's `dataverse_only` counts every account no customer matches, including the ones outside
    its integration filter (inactive accounts, and vendor accounts, which VENDOR counts as well).
    """

    match_on: str  # the fields the records match on, as BC's match-based coupling would use them
    shared: int = 0
    ambiguous: int = 0
    bc_only: int = 0
    dataverse_only: int = 0


@dataclass
class SeedSummary:
    seed: int
    customers: int
    bc: Counter[str] = field(default_factory=Counter)  # BC table (logical name) → rows
    dataverse: Counter[str] = field(default_factory=Counter)  # Dataverse table → rows
    coupling: dict[str, CouplingStory] = field(default_factory=dict)  # mapping name → story

    def count(self, service: str, table: str, rows: int) -> None:
        (self.bc if service == "bc" else self.dataverse)[table] += rows

    def story(self, mapping: str) -> CouplingStory:
        return self.coupling[mapping]

    def describe(self) -> str:
        """A few lines for the command line and the demo."""
        lines = [f"seed {self.seed}: {self.customers} customers"]
        for side, counts in (("Business Central", self.bc), ("Dataverse", self.dataverse)):
            tables = ", ".join(f"{table} {rows}" for table, rows in sorted(counts.items()))
            lines.append(f"  {side}: {tables}")
        for mapping, story in self.coupling.items():
            lines.append(
                f"  {mapping} (match on {story.match_on}): shared {story.shared}, "
                f"ambiguous {story.ambiguous}, BC only {story.bc_only}, Dataverse only {story.dataverse_only}"
            )
        return "\n".join(lines)
