"""Server-driven OData paging: follow `@odata.nextLink`, resending the same `Prefer` on every page.

Pages are yielded one at a time, so memory holds one page whatever the table size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bcsync.wire.errors import ConfigurationError, UnexpectedResponse
from bcsync.wire.transport import ServiceTransport, redact_url

NEXT_LINK = "@odata.nextLink"
DELTA_LINK = "@odata.deltaLink"


@dataclass(frozen=True)
class Page:
    """One page of a collection read."""

    records: list[dict[str, Any]]
    next_link: str | None = None
    delta_link: str | None = None


def max_page_size_preference(page_size: int, limit: int) -> str:
    if not 0 < page_size <= limit:
        raise ConfigurationError(f"page_size must be 1..{limit}, got {page_size}")
    return f"odata.maxpagesize={page_size}"


@dataclass
class ODataPager:
    """Reads a collection page by page.

    :param transport: the service transport.
    :param prefer: `Prefer` values sent with the first page and every next link.
    :param headers: other headers sent on every page (e.g. BC's `Data-Access-Intent`).
    """

    transport: ServiceTransport
    prefer: list[str]
    headers: Mapping[str, str] = field(default_factory=dict)

    def pages(self, first_url: str) -> Iterator[Page]:
        url: str | None = first_url
        request_headers = {**self.headers, "Prefer": ",".join(self.prefer)}
        while url is not None:
            body = self.transport.get_json(url, headers=request_headers)
            records = body.get("value")
            if not isinstance(records, list):
                raise UnexpectedResponse(f"{redact_url(url)} is not a collection (no 'value' list)")
            page = Page(records=records, next_link=body.get(NEXT_LINK), delta_link=body.get(DELTA_LINK))
            yield page
            url = page.next_link
