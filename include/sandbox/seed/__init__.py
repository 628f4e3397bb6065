"""Deterministic CRONUS-like seed data for the local Business Central and Dataverse services.

`seed(repository, settings=..., customers=N, seed=S)` writes both sides; see docs/sandbox.md for the
coupling story (which records exist on both sides, on one side, or ambiguously).
"""

from sandbox.seed.summary import CouplingStory, SeedSummary
from sandbox.seed.writer import seed

__all__ = ["CouplingStory", "SeedSummary", "seed"]
