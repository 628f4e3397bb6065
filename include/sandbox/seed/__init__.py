"""Deterministic CRONUS-like seed data for the local Business Central and Dataverse services.

`seed(repository, settings=..., customers=N, seed=S)` writes both sides and returns a `SeedSummary`
(rows per table per side, and per mapping how many records are shared, ambiguous or one-sided).
The story before bcsync's first full synchronization: about 30 % of customers already exist as an
account with the same name (and address, phone, e-mail), 2 % have two same-named accounts (must not
be coupled), the rest exist only in BC; 20 % more accounts, plus Sales' "(sample)" accounts, exist
only in Dataverse. About one vendor per five customers (at least five) exists in BC, some with a
purchaser code; about 40 % of them have a vendor account (customertypecode 11) with the same name
and city in Dataverse, and Sales has vendor accounts of its own (`sandbox.seed.vendors`).
Currencies match on ISO code, salespeople on name and e-mail, units on "NAV <code>", items and
resources on number, price groups on name; each has one-sided records too.
BC's reference tables back every payment terms and shipment method code a customer uses, CRONUS's
shipping agents exist, each company contact has a Customer business relation, and every BC currency
has an exchange rate except CHF, so a CHF sync shows BC's "no exchange rate defined" failure.
"""

from sandbox.seed.summary import CouplingStory, SeedSummary
from sandbox.seed.writer import seed

__all__ = ["CouplingStory", "SeedSummary", "seed"]
