"""Reading one side of a mapping page by page: by modified-on window, by ids, or everything."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from bcsync.engine.model import Side
from bcsync.pipeline.company import company_filter
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import SideColumns, side_columns
from bcsync.registry.model import IntegrationTableMapping
from bcsync.wire import odata
from bcsync.wire.odata import Filter

ID_CHUNK = 100  # ids per `$filter`: keeps URLs far below the services' limits


def table_filter(mapping: IntegrationTableMapping, side: Side) -> Filter | None:
    text = mapping.table_filter if side is Side.BC else mapping.integration_table_filter
    return Filter(text) if text else None


def read_pages(
    services: Services,
    mapping: IntegrationTableMapping,
    side: Side,
    where: Filter | None,
    *,
    columns: SideColumns | None = None,
) -> Iterator[pd.DataFrame]:
    """Frames of one side's records (native column names), one per API page, within the table filter
    (on the Sales side also BC's company filter: this company's rows and those of no company)."""
    columns = columns or side_columns(mapping, side)
    filtered = odata.all_of(table_filter(mapping, side), where)
    if side is Side.CRM:
        filtered = odata.all_of(company_filter(services, mapping), filtered)
        for page in services.crm.iter_pages(
            mapping.crm_entity_set, select=columns.select(), filter=filtered, orderby=[columns.key]
        ):
            yield _frame_of(page)
        return
    primary = mapping.bc_endpoint
    extra: _Extension | None = None
    extension_read = False
    for page in services.bc.iter_pages(
        primary.entity_set, select=columns.select(primary.api.value), filter=filtered, api=primary.api.value
    ):
        frame = _frame_of(page)
        if len(frame) and not extension_read:
            # Read once the standard page has rows: a read that finds nothing asks nothing more.
            fields, extension_read = _extension_fields(services, mapping, columns, where), True
            extra = _Extension(fields, columns.key) if fields is not None else None
        if extra is not None and len(frame):
            frame = extra.joined(frame)
        yield frame


class _Extension:
    """The extension's fields keyed by id, indexed once: each standard page takes its rows by id (a
    left join) without hashing all of the extension's rows again."""

    def __init__(self, fields: pd.DataFrame, key: str) -> None:
        self.fields, self.key = fields, key
        indexed = fields.set_index(key)
        self.indexed = indexed if indexed.index.is_unique else None

    def joined(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.indexed is None:  # an id listed twice: a join's rows, as before
            return frame.merge(self.fields, on=self.key, how="left")
        found = self.indexed.reindex(frame[self.key].to_numpy(dtype=object)).reset_index(drop=True)
        return pd.concat([frame.reset_index(drop=True), found], axis=1)


def read_by_ids(
    services: Services,
    mapping: IntegrationTableMapping,
    side: Side,
    ids: Iterable[str],
    *,
    apply_filter: bool,
) -> Iterator[pd.DataFrame]:
    """The records with these ids (missing ones are simply absent), a frame per chunk."""
    key = mapping.bc_key if side is Side.BC else mapping.crm_key
    for chunk in _chunks(sorted(set(ids)), ID_CHUNK):
        where = odata.in_(key, [uuid.UUID(i) for i in chunk])
        if apply_filter:
            yield from read_pages(services, mapping, side, where)
        else:
            yield from _read_unfiltered(services, mapping, side, where)


def pages_where_in(
    hook: Any,
    entity_set: str,
    key: str,
    values: Iterable[odata.Value],
    select: list[str],
    *,
    also: Filter | None = None,
    **options: Any,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of `hook`'s rows whose `key` is one of `values` (and that match `also`), `ID_CHUNK` values
    per request; `options` go to its `iter_pages` (e.g. `api="custom"`)."""
    for chunk in _chunks(sorted(set(values), key=str), ID_CHUNK):
        where = odata.all_of(odata.in_(key, chunk), also)
        yield from hook.iter_pages(entity_set, select=select, filter=where, **options)


def modified_window(
    mapping: IntegrationTableMapping,
    side: Side,
    *,
    after: datetime | None = None,
    not_before: datetime | None = None,
    before: datetime | None = None,
) -> Filter | None:
    """`modified > after` (a watermark), or `not_before <= modified < before` (a data interval)."""
    field = mapping.bc_modified_field if side is Side.BC else mapping.crm_modified_field
    if field is None:
        return None
    return odata.all_of(
        odata.gt(field, after) if after else None,
        odata.ge(field, not_before) if not_before else None,
        odata.lt(field, before) if before else None,
    )


def _read_unfiltered(
    services: Services, mapping: IntegrationTableMapping, side: Side, where: Filter
) -> Iterator[pd.DataFrame]:
    saved = mapping.model_copy(
        update={"table_filter": None, "integration_table_filter": None, "company_filter": False}
    )
    yield from read_pages(services, saved, side, where)


def _extension_fields(
    services: Services, mapping: IntegrationTableMapping, columns: SideColumns, where: Filter | None
) -> pd.DataFrame | None:
    """The fields only our custom API page has (same rows, same ids), read with the same filter.

    One paged read for the whole selection rather than a lookup per page: only the extension's few
    columns are held, keyed by id, while the standard page's rows stream past.
    """
    extension = mapping.bc_extension_endpoint
    if extension is None:
        return None
    primary_fields = set(columns.select(mapping.bc_endpoint.api.value))
    wanted = [c for c in columns.select(extension.api.value) if c not in primary_fields or c == columns.key]
    if len(wanted) <= 1:
        return None
    # A frame per page: a big table's rows are not held as dicts all at once.
    frames = [
        _frame_of(page, wanted)
        for page in services.bc.iter_pages(
            extension.entity_set, select=wanted, filter=where, api=extension.api.value
        )
        if page
    ]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=wanted)
    return rows.drop(columns=["@odata.etag"], errors="ignore")


def _frame_of(page: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    """A page's records as a frame. The page's dicts are dropped at once (the list is emptied in
    place): the hook still refers to the list while it reads the next page, and a BC page of 20,000
    records as dicts is tens of MB that would otherwise be held twice."""
    frame = pd.DataFrame(page, columns=columns)
    page.clear()
    return frame


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_by_key(
    hook: Any, entity_set: str, key: str, values: Iterable[Any], select: Sequence[str], **options: Any
) -> dict[str, dict[str, Any]]:
    """Rows of any entity set of either hook whose `key` is one of `values` (GUIDs or codes), in id
    chunks; keyed by the key's value in lower case. `options`: the hook's (e.g. BC's `api`)."""
    wanted = sorted({str(v) for v in values if v is not None and not pd.isna(v) and str(v)})
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(wanted, ID_CHUNK):
        literal = [uuid.UUID(v) for v in chunk] if _all_guids(chunk) else chunk
        for page in hook.iter_pages(
            entity_set, select=list(select), filter=odata.in_(key, literal), **options
        ):
            out.update({str(row[key]).lower(): row for row in page})
    return out


def _all_guids(values: Sequence[str]) -> bool:
    try:
        return all(uuid.UUID(v) for v in values)
    except ValueError:
        return False
