"""Reading the Directus query of an HTTP request: from the URL query string, or from a body's ``query``.

Both paths end in ``tidepool.query.parse`` with the server's ``QUERY_LIMIT_MAX``, so a REST read, a REST
write's read-back and a batch update/delete by query all see the same sanitized ``Query``.

A query string is parsed once per distinct raw string: clients repeat the same few (a list polled with
``?limit=10``), and decoding the pairs, rebuilding ``qs``'s nested object and sanitizing it was a tenth of a
small read's CPU. Parsing is a pure function of the raw bytes and the two settings it reads, so its result
(a frozen ``Query``; the decoded pairs are an immutable ``QueryParams``) is kept in a bounded LRU under
exactly those. A string that fails to parse is not kept (it raises again, with the same error, next time),
and a long one is parsed every time rather than kept (``_MAX_KEPT_BYTES``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import HTTPConnection

from tidepool.config import Settings
from tidepool.errors import InvalidPayloadError
from tidepool.query.model import Query
from tidepool.query.parse import parse_query, parse_query_params

_KEPT = 512  # distinct query strings kept (each entry is a few KiB at most: see _MAX_KEPT_BYTES)
_MAX_KEPT_BYTES = 2048  # longer query strings are parsed per request


def query_params(conn: HTTPConnection) -> QueryParams:
    """The request's decoded query pairs: ``conn.query_params``, decoded once per distinct query string."""
    raw: bytes = conn.scope["query_string"]
    if len(raw) > _MAX_KEPT_BYTES:
        return conn.query_params
    return _decoded(raw)


@lru_cache(maxsize=_KEPT)
def _decoded(raw: bytes) -> QueryParams:
    return QueryParams(raw)  # Starlette's own decoding, as ``HTTPConnection.query_params`` does it


def query_from_request(request: HTTPConnection) -> Query:
    """The query in the request's URL (``?fields=…&filter[…]=…``), bracket notation included."""
    settings: Settings = request.app.state.runtime.settings
    raw: bytes = request.scope["query_string"]
    if len(raw) > _MAX_KEPT_BYTES:
        return _parsed(request.query_params, settings.QUERY_LIMIT_MAX, settings.MAX_QUERY_COMPLEXITY)
    return parse_query_string(raw, settings.QUERY_LIMIT_MAX, settings.MAX_QUERY_COMPLEXITY)


@lru_cache(maxsize=_KEPT)
def parse_query_string(raw: bytes, max_limit: int | None, max_complexity: int | None) -> Query:
    """The ``Query`` of a raw query string under these settings, parsed once while it stays in the LRU."""
    return _parsed(_decoded(raw), max_limit, max_complexity)


def _parsed(params: QueryParams, max_limit: int | None, max_complexity: int | None) -> Query:
    # Other parameters sharing the string (``access_token``) are ignored like any unknown key.
    return parse_query_params(params.multi_items(), max_limit=max_limit, max_complexity=max_complexity)


def query_from_body(body_value: Any, settings: Settings) -> Query:
    """The ``query`` member of a REST body (``PATCH /items/c`` with ``{"query": …, "data": …}``).

    A body's ``query`` that is not an object is a bad payload, not a bad query, as in Directus's Joi check."""
    if body_value is None:
        return Query()
    if not isinstance(body_value, Mapping):
        raise InvalidPayloadError('"query" must be of type object')
    return parse_query(body_value, max_limit=settings.QUERY_LIMIT_MAX, max_complexity=settings.MAX_QUERY_COMPLEXITY)
