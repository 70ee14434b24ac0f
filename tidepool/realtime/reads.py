"""What the realtime layer reads through: the reader, the query parser, the filter compiler and evaluator,
and the resolution of a subscription query's dynamic variables (once, at subscribe time, as Directus does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.context import Action
from tidepool.errors import ForbiddenError, TidepoolError
from tidepool.query.evaluate import matches
from tidepool.query.filters import compile_filter as _compile_filter
from tidepool.query.model import Query
from tidepool.query.parse import parse_query
from tidepool.services import dynamic
from tidepool.services.base import ServiceContext
from tidepool.services.items import ItemsService
from tidepool.services.reader import check_read, read_by_query, read_many, read_meta

__all__ = [
    "check_read",
    "lost_read_access",
    "compile_filter",
    "matches",
    "parse_query",
    "read_by_query",
    "read_many",
    "read_meta",
    "read_item",
    "resolve_query",
]


def compile_filter(filter: Mapping[str, Any], ctx: ServiceContext, collection: str, table: Any) -> Any:
    """``filter`` as SQL for ``ctx``'s caller over ``table`` (a one-row derived table for "before" checks)."""
    return _compile_filter(filter, collection, schema=ctx.schema, access=ctx.access, dialect=ctx.dialect, table=table)


def lost_read_access(ctx: ServiceContext, collection: str, query: Query) -> TidepoolError | None:
    """Why ``ctx``'s caller may no longer read ``query`` on ``collection`` (the collection is gone or not
    readable, or a field of the query is not), or None. Plans only: no statement runs."""
    try:
        if ctx.schema.collections.get(collection) is None or not ctx.access.allows(collection, Action.READ):
            raise ForbiddenError.collection(collection)
        check_read(ctx, collection, query)
    except TidepoolError as exc:
        return exc
    return None


async def read_item(ctx: ServiceContext, collection: str, key: Any, query: Query) -> dict[str, Any]:
    """One item by a key as a client sent it (a subscription's ``item``): cast to the primary key's type by
    the rule every read by key uses, so a key no column can hold (2**70, 1.5) is FORBIDDEN, as a read of a
    missing row, instead of reaching the driver."""
    return await ItemsService(ctx, collection).read_one(key, query)


async def resolve_query(ctx: ServiceContext, query: Query) -> Query:
    """Dynamic variables of a subscription's ``filter`` and every ``deep`` ``_filter``, resolved once at
    subscribe time (Directus does the same), by the one resolver every read and permission rule uses."""
    return await dynamic.resolve_query(ctx, query)
