"""OData query handling shared by the Dataverse and BC services: `$filter` → SQLAlchemy, the other
query options, the `Prefer` header and opaque skip tokens. Service-neutral."""

from sandbox.odata.errors import (
    IncompatibleLiteral,
    ODataError,
    ODataSyntaxError,
    UnknownProperty,
    UnsupportedQueryOption,
)
from sandbox.odata.filter_compiler import compile_filter, filter_clause, resolve_property
from sandbox.odata.filter_parser import parse_filter
from sandbox.odata.prefer import Preferences, parse_prefer
from sandbox.odata.query_options import ExpandItem, parse_expand, parse_orderby, parse_select, parse_top
from sandbox.odata.skiptoken import decode_skiptoken, encode_skiptoken

__all__ = [
    "ExpandItem",
    "IncompatibleLiteral",
    "ODataError",
    "ODataSyntaxError",
    "Preferences",
    "UnknownProperty",
    "UnsupportedQueryOption",
    "compile_filter",
    "decode_skiptoken",
    "encode_skiptoken",
    "filter_clause",
    "parse_expand",
    "parse_filter",
    "parse_orderby",
    "parse_prefer",
    "parse_select",
    "parse_top",
    "resolve_property",
]
