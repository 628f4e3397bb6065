"""BC's configuration templates of a mapping, applied to the records a pass creates.

"Int. Tbl. Config Template Code" (`int_table_config_template`, its values in the mapping): Sales records
created from BC. "Table Config Template Code" (`table_config_template`): BC records created from Sales;
the template is kept in BC and read through the bcsync API pages `configTemplates` and
`configTemplateLines` (docs/bc-custom-api.md). BC applies a template after the transfer, so its values
win over the mapped ones; a code BC does not have fails the record with BC's message.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from bcsync.engine.model import SyncPass
from bcsync.engine.values import object_array
from bcsync.pipeline.services import Services
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire import odata

TEMPLATES, TEMPLATE_LINES = "configTemplates", "configTemplateLines"


def template_not_found(code: str) -> str:
    return f"The Config. Template Header {code} was not found."


def apply_config_templates(
    mapping: IntegrationTableMapping, sync_pass: SyncPass, plan: pd.DataFrame, services: Services
) -> pd.DataFrame:
    """The plan's creates with the pass's template: the Sales template's values in their payloads; for
    BC, a check that the template exists (the load writes its values after the create, as BC does)."""
    inserts = plan["action"] == "insert" if len(plan) else None
    if inserts is None or not inserts.any():
        return plan
    if sync_pass is SyncPass.TO_CRM and mapping.int_table_config_template is not None:
        values = mapping.int_table_config_template.values
        # The column replaced whole: setting a list through `.loc` and a mask costs more than the dicts.
        payloads = plan["payload"].to_numpy(dtype=object, copy=True)
        at = np.flatnonzero(inserts.to_numpy(dtype=bool))
        payloads[at] = object_array(({**(p or {}), **values} for p in payloads[at]), len(at))
        plan["payload"] = payloads
    if sync_pass is SyncPass.FROM_CRM and mapping.table_config_template is not None:
        code = mapping.table_config_template.code
        if table_template_values(mapping, services) is None:
            # BC inserts the record, then fails it uncoupled; bcsync fails it before creating anything.
            plan.loc[inserts, ["action", "error"]] = ["fail", template_not_found(code)]
            plan.loc[inserts, "payload"] = None
    return plan


def table_template_values(mapping: IntegrationTableMapping, services: Services) -> dict[str, Any] | None:
    """The mapping's table config template as values by property of the bcsync API page (no template:
    {}), or None when BC has no template of that code."""
    template, extension = mapping.table_config_template, mapping.bc_extension_endpoint
    if template is None or extension is None:
        return {}
    api = extension.api.value
    headers = services.bc.iter_pages(
        TEMPLATES, select=["code"], filter=odata.eq("code", template.code), api=api
    )
    if not any(page for page in headers):
        return None
    lines = [
        line
        for page in services.bc.iter_pages(
            TEMPLATE_LINES,
            select=["lineNo", "fieldName", "defaultValue"],
            filter=odata.eq("dataTemplateCode", template.code),
            api=api,
        )
        for line in page
    ]
    return {property_name(line["fieldName"]): line["defaultValue"] for line in sorted(lines, key=_line_no)}


def property_name(caption: str) -> str:
    """The bcsync API pages' property of a BC field: the lowerCamelCase of its caption without
    punctuation ("Payment Terms Code" → paymentTermsCode, "Fax No." → faxNo)."""
    words = re.findall(r"[A-Za-z0-9]+", caption)
    if not words:
        raise ValueError(f"no property name in the field name {caption!r}")
    first = words[0].lower() if words[0].isupper() else words[0][0].lower() + words[0][1:]
    return first + "".join(word[0].upper() + word[1:] for word in words[1:])


def _line_no(line: dict[str, Any]) -> int:
    return int(line.get("lineNo") or 0)
