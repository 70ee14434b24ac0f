"""Reading the Directus query of an HTTP request: from the URL query string, or from a body's ``query``.

Both paths end in ``tidepool.query.parse`` with the server's ``QUERY_LIMIT_MAX``, so a REST read, a REST
write's read-back and a batch update/delete by query all see the same sanitized ``Query``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import HTTPConnection

from tidepool.config import Settings
from tidepool.errors import InvalidPayloadError
from tidepool.query.model import Query
from tidepool.query.parse import parse_query, parse_query_params


def query_from_request(request: HTTPConnection) -> Query:
    """The query in the request's URL (``?fields=…&filter[…]=…``), bracket notation included."""
    settings: Settings = request.app.state.runtime.settings
    # Other parameters sharing the string (``access_token``) are ignored like any unknown key.
    return parse_query_params(
        request.query_params.multi_items(),
        max_limit=settings.QUERY_LIMIT_MAX,
        max_complexity=settings.MAX_QUERY_COMPLEXITY,
    )


def query_from_body(body_value: Any, settings: Settings) -> Query:
    """The ``query`` member of a REST body (``PATCH /items/c`` with ``{"query": …, "data": …}``).

    A body's ``query`` that is not an object is a bad payload, not a bad query, as in Directus's Joi check."""
    if body_value is None:
        return Query()
    if not isinstance(body_value, Mapping):
        raise InvalidPayloadError('"query" must be of type object')
    return parse_query(body_value, max_limit=settings.QUERY_LIMIT_MAX, max_complexity=settings.MAX_QUERY_COMPLEXITY)
