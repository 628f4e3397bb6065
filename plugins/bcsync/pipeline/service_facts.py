"""What a run's tasks learn about Dataverse once, kept for the run's other tasks.

Each task is a process of its own, and each load partition is a task: without this, every partition
asked again which bulk messages the table has and which `bcbi_company` row is BC's company (three
requests per partition, a quarter of an initial sync's requests at 1,000,000 records). The answers are
kept in the run's staging folder, so they last exactly one run: a run never reuses what an earlier
run was told.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.sdk import ObjectStoragePath

from bcsync.pipeline.company import assume_company, known_company
from bcsync.pipeline.services import Services

log = logging.getLogger(__name__)

FACTS_FILE = "service_facts.json"


def recall(folder: ObjectStoragePath, services: Services) -> dict[str, Any]:
    """Give this task's Dataverse hook what earlier tasks of the run learned; returns those facts."""
    facts = _read(folder / FACTS_FILE)
    if facts.get("bulk_support"):
        services.crm.assume_bulk_support(
            {(table, message): bool(supported) for table, message, supported in facts["bulk_support"]}
        )
    if "company" in facts:
        assume_company(services, facts["company"])
    return facts


def keep(folder: ObjectStoragePath, services: Services, recalled: dict[str, Any]) -> None:
    """Save what this task learned, when it learned something the run's file does not hold yet.

    Tasks running at once may each write: the facts are the same answers, so whichever file wins is
    right, and a lost answer only costs the request it saves."""
    if "crm" not in vars(services):  # this task never built a Dataverse hook: nothing learned
        return
    facts: dict[str, Any] = {
        "bulk_support": sorted(
            [table, message, supported]
            for (table, message), supported in services.crm.known_bulk_support().items()
        )
    }
    looked_up, company = known_company(services)
    if looked_up:
        facts["company"] = company
    merged = {**recalled, **facts}
    if merged == recalled:
        return
    try:
        target = folder / FACTS_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(merged))
    except OSError as error:  # a cache: the next task asks the service again
        log.warning("could not keep what this task learned about Dataverse: %s", error)


def _read(path: ObjectStoragePath) -> dict[str, Any]:
    try:
        if not path.exists():
            return {}
        facts = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        log.warning("ignoring the run's Dataverse facts (%s): %s", path, error)
        return {}
    return facts if isinstance(facts, dict) else {}
