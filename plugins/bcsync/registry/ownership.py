"""The ownership model in effect: BC's "Ownership Model" of the Dataverse connection setup.

Under Person (BC's default) the Sales rows bcsync creates are owned by the Sales users coupled to
BC's salespeople; under Team by the company's owning team. BC creates some mappings and field
mappings only under Person: the SALESPEOPLE job and the owner fields (`owneridtype`, `ownerid`). The
YAML marks them `ownership_model: Person`; under Team they drop out of the registry, and so does
SALESPEOPLE from the dependencies of the other jobs, as BC's setup does when the model is switched.

The model is set once for the deployment, in `$BCSYNC_OWNERSHIP_MODEL` (`Person` or `Team`) of every
Airflow component, like `$BCSYNC_MAPPINGS_DIR`: the registry is read when DAG files are parsed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from bcsync.registry.errors import Problem, RegistryError
from bcsync.registry.model import IntegrationTableMapping, OwnershipModel
from bcsync.registry.validation import Located

ENV_OWNERSHIP_MODEL = "BCSYNC_OWNERSHIP_MODEL"


def ownership_model_in_effect(value: OwnershipModel | str | None = None) -> OwnershipModel:
    """`value`, else `$BCSYNC_OWNERSHIP_MODEL`, else Person (BC's default); any case is accepted."""
    raw = value if value is not None else os.environ.get(ENV_OWNERSHIP_MODEL, "").strip()
    if not raw:
        return OwnershipModel.PERSON
    for model in OwnershipModel:
        if str(raw).casefold() == model.value.casefold():
            return model
    where = "the ownership model" if value is not None else f"${ENV_OWNERSHIP_MODEL}"
    choices = " or ".join(m.value for m in OwnershipModel)
    raise RegistryError([Problem(where, f"expected {choices}, got {raw!r}")])


def exists_under(marked: OwnershipModel | None, model: OwnershipModel) -> bool:
    """Whether a mapping or field marked `ownership_model: marked` exists under `model`."""
    return marked is None or marked is model


def under_ownership_model(
    mappings: Sequence[Located[IntegrationTableMapping]], model: OwnershipModel
) -> list[Located[IntegrationTableMapping]]:
    """The mappings as BC has them under `model`: without the mappings and field mappings that exist
    only under the other model, and without dependencies on the mappings left out."""
    left_out = {
        name
        for located in mappings
        if not exists_under(located.item.ownership_model, model)
        for name in (located.item.name, *located.item.aliases)
    }
    kept = []
    for located in mappings:
        mapping = located.item
        if mapping.name in left_out:
            continue
        fields = tuple(f for f in mapping.fields if exists_under(f.ownership_model, model))
        dependencies = tuple(d for d in mapping.dependencies if d not in left_out)
        if fields != mapping.fields or dependencies != mapping.dependencies:
            mapping = mapping.model_copy(update={"fields": fields, "dependencies": dependencies})
            located = Located(located.file, mapping)
        kept.append(located)
    return kept
