"""The mapping registry: integration table and field mappings as validated data from include/mappings/."""

from bcsync.registry.broken import BrokenMapping
from bcsync.registry.errors import Problem, RegistryError
from bcsync.registry.loader import load_registry, mappings_directory
from bcsync.registry.model import (
    BcApi,
    BcEndpoint,
    DeletionConflictResolution,
    FieldStatus,
    IntegrationFieldMapping,
    IntegrationTableMapping,
    Lookup,
    OptionMapping,
    OwnershipModel,
    Schedule,
    SyncDirection,
    UpdateConflictResolution,
)
from bcsync.registry.registry import Registry

__all__ = [
    "BcApi",
    "BcEndpoint",
    "BrokenMapping",
    "DeletionConflictResolution",
    "FieldStatus",
    "IntegrationFieldMapping",
    "IntegrationTableMapping",
    "Lookup",
    "OptionMapping",
    "OwnershipModel",
    "Problem",
    "Registry",
    "RegistryError",
    "Schedule",
    "SyncDirection",
    "UpdateConflictResolution",
    "load_registry",
    "mappings_directory",
]
