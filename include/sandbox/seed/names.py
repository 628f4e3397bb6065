"""Realistic names, addresses and phone numbers, drawn from the vocabulary pools.

Company names are unique by construction: a name slot is permuted (per seed) and read as mixed-radix
digits over the pools, so millions of customers never match each other by accident.
"""

from __future__ import annotations

import functools
import math
import random
import unicodedata
from dataclasses import dataclass

from sandbox.seed import vocabulary as words

_PLAIN_NAMES = len(words.COMPANY_LEADS) * len(words.COMPANY_TRADES) * len(words.COMPANY_FORMS)
# Multipliers for the slot permutation: primes that share no factor with the pool sizes.
_MULTIPLIERS = (100_003, 199_999, 262_139, 350_377, 479_909, 611_953, 746_773, 882_377)
NAME_CAPACITY = _PLAIN_NAMES * (1 + len(words.COMPANY_REGIONS))


class CompanyNames:
    """Unique company names by slot number, shuffled differently for each seed.

    `forms` is the pool of last words ("Inc.", "LLC", ...). Two instances whose pools share no word
    can never produce the same name, which keeps vendor names apart from customer names.
    """

    def __init__(self, rng: random.Random, forms: tuple[str, ...] = words.COMPANY_FORMS) -> None:
        self._forms = forms
        self._plain = len(words.COMPANY_LEADS) * len(words.COMPANY_TRADES) * len(forms)
        self.capacity = self._plain * (1 + len(words.COMPANY_REGIONS))
        coprime = [m for m in _MULTIPLIERS if math.gcd(m, self._plain) == 1]
        self._multiplier = rng.choice(coprime)
        self._offset = rng.randrange(self._plain)

    def name(self, slot: int) -> str:
        if not 0 <= slot < self.capacity:
            raise ValueError(f"company name slot {slot} is outside 0..{self.capacity - 1}")
        tier, within = divmod(slot, self._plain)
        digits = (within * self._multiplier + self._offset) % self._plain
        digits, form = divmod(digits, len(self._forms))
        lead, trade = divmod(digits, len(words.COMPANY_TRADES))
        name = f"{words.COMPANY_LEADS[lead]} {words.COMPANY_TRADES[trade]} {self._forms[form]}"
        return f"{words.COMPANY_REGIONS[tier - 1]} {name}" if tier else name


@dataclass(frozen=True)
class Address:
    line1: str
    line2: str
    city: str
    county: str
    post_code: str
    country: str
    phone: str


@dataclass(frozen=True)
class Person:
    first: str
    middle: str
    last: str

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first, self.middle, self.last) if part)


def fill_pattern(rng: random.Random, pattern: str) -> str:
    """Replace '#' with digits and '@' with capital letters."""
    out = []
    for char in pattern:
        if char == "#":
            out.append(str(rng.randrange(10)))
        elif char == "@":
            out.append(chr(ord("A") + rng.randrange(26)))
        else:
            out.append(char)
    return "".join(out)


def pick_country(rng: random.Random) -> words.Country:
    countries, weights = zip(*words.COUNTRY_WEIGHTS, strict=True)
    return rng.choices(countries, weights=weights)[0]


def address(rng: random.Random, country: words.Country, *, with_second_line: bool) -> Address:
    place = rng.choice(country.places)
    number = rng.randint(1, 9999)
    line1 = f"{number} {rng.choice(words.STREET_NAMES)} {rng.choice(words.STREET_TYPES)}"
    return Address(
        line1=line1,
        line2=rng.choice(words.SECOND_LINES) if with_second_line else "",
        city=place.city,
        county=place.county,
        post_code=fill_pattern(rng, place.post_code),
        country=country.code,
        phone=fill_pattern(rng, place.phone),
    )


def person(rng: random.Random) -> Person:
    middle = rng.choice(words.MIDDLE_INITIALS) if rng.random() < 0.2 else ""
    return Person(rng.choice(words.FIRST_NAMES), middle, rng.choice(words.LAST_NAMES))


# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSABLE = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "đ": "d"})


@functools.lru_cache(maxsize=4096)  # person names repeat a lot; company names never do
def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Müller & Söhne' → 'mullersohne'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    return "".join(c for c in decomposed.lower() if c.isascii() and c.isalnum())


def company_domain(name: str, rng: random.Random) -> str:
    """A web domain for a company: 'Harper Logistics Inc.' → 'harperlogisticsinc.com'."""
    return f"{ascii_slug(name)[:50]}.{rng.choice(words.WEB_TLDS)}"


def email(person_: Person, domain: str) -> str:
    return f"{ascii_slug(person_.first)}.{ascii_slug(person_.last)}@{domain}"
