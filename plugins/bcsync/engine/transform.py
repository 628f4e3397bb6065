"""Field transfer for one record: constants, copies, option values and lookups through couplings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bcsync.engine.model import FieldRule, LookupTable
from bcsync.engine.values import is_blank, normalize, truncate


class LookupNotCoupled(Exception):
    """A related record is not coupled and its field mapping may not be cleared."""


# An option value with no row in the option mapping: the field is left out of the write.
UNMAPPED = object()


@dataclass
class TransferResult:
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def transfer(
    rules: tuple[FieldRule, ...],
    source: Mapping[str, Any],
    lookups: Mapping[str, LookupTable],
    destination_label: str = "Dynamics 365 Sales",
) -> TransferResult:
    """The destination values the source record maps to, or the first error (BC stops at one)."""
    result = TransferResult()
    for rule in rules:
        try:
            value = _field_value(rule, source, lookups, destination_label)
        except LookupNotCoupled as error:
            result.error = str(error)
            return result
        if value is not UNMAPPED:
            result.values[rule.destination_field] = value
    return result


def _field_value(
    rule: FieldRule, source: Mapping[str, Any], lookups: Mapping[str, LookupTable], destination_label: str
) -> Any:
    if rule.is_constant:
        return rule.constant
    value = source.get(rule.source_field) if rule.source_field else None
    if rule.option_map is not None:
        return _option_value(rule, value)
    if rule.lookup:
        return _lookup_value(rule, value, lookups[rule.lookup], destination_label)
    if is_blank(value):
        return None
    return truncate(normalize_text(value), rule.max_length)


def normalize_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _option_value(rule: FieldRule, value: Any) -> Any:
    assert rule.option_map is not None
    if is_blank(value):
        return rule.option_map.get(None)
    key = normalize(value)
    for candidate, mapped in rule.option_map.items():
        if normalize(candidate) == key or (
            isinstance(candidate, str) and isinstance(key, str) and candidate.upper() == key.upper()
        ):
            return mapped
    # BC's option-mapping jobs would first add the value to the Dataverse option set; bcsync does not
    # manage option sets, so an unmapped value leaves the destination field as it is.
    return None if rule.clear_on_failed_sync else UNMAPPED


def _lookup_value(rule: FieldRule, value: Any, table: LookupTable, destination_label: str) -> Any:
    if is_blank(value):
        if table.blank_means is not None:
            return table.blank_means
        if rule.not_null:
            raise LookupNotCoupled(
                f"{rule.caption} must have a value to be synchronized to {destination_label}."
            )
        return None
    if table.maps_to_blank is not None and normalize(value) == normalize(table.maps_to_blank):
        return None
    translated = table.values.get(_lookup_key(value))
    if translated is None:
        if rule.clear_on_failed_sync:
            return None
        related = table.caption or table.mapping
        raise LookupNotCoupled(f"{related} {value} must be coupled to a record in {destination_label}.")
    return translated


def _lookup_key(value: Any) -> Any:
    # Codes are matched as BC does (upper-cased, trimmed); GUIDs lowercase.
    if isinstance(value, str):
        text = value.strip()
        return text.lower() if len(text) == 36 and text.count("-") == 4 else text.upper()
    return value


def lookup_table(
    mapping: str,
    pairs: Mapping[Any, Any],
    *,
    blank_means: Any = None,
    maps_to_blank: Any = None,
    caption: str = "",
) -> LookupTable:
    """Build a LookupTable with keys normalised the way `transfer` looks them up."""
    return LookupTable(
        mapping=mapping,
        values={_lookup_key(key): value for key, value in pairs.items() if not is_blank(key)},
        blank_means=blank_means,
        maps_to_blank=maps_to_blank,
        caption=caption,
    )
