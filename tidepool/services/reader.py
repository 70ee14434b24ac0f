"""The read path: every item read in the product (REST items, system collections, WebSocket subscriptions and
``items`` reads) goes through these four functions.

A read is planned first (``query.fields.plan``: names resolved, permissions checked, nothing executed), then
run as one SELECT for the root and one per relational branch per level (``query.relations``), so the number
of statements depends on the shape of the query and never on the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidepool.errors import ForbiddenError
from tidepool.query.aggregate import aggregate_statement, plan_aggregate
from tidepool.query.compile import Condition, Level, page_window
from tidepool.query.fields import plan
from tidepool.query.model import Query
from tidepool.query.relations import (
    Fetched,
    Item,
    Window,
    empty_branch,
    fetched,
    level_statement,
    m2o_keys,
    m2o_statement,
    merge_m2o,
    merge_o2m,
    o2m_keys,
    o2m_statement,
    projection,
    where,
)
from tidepool.services.base import ServiceContext

META_KEYS = ("total_count", "filter_count")


def _level(ctx: ServiceContext, collection: str) -> Level:
    return Level.open(ctx.schema, ctx.access, ctx.dialect, collection)


def _default_limit(ctx: ServiceContext) -> int:
    """``QUERY_LIMIT_DEFAULT``, capped by ``QUERY_LIMIT_MAX`` when one is set (Directus's sanitizer does the
    same: a query without ``limit`` never gets more rows than an explicit one could)."""
    default = int(ctx.settings.get("QUERY_LIMIT_DEFAULT", 100))
    maximum = ctx.settings.get("QUERY_LIMIT_MAX")
    return default if maximum is None or maximum < 0 else min(default, int(maximum))


async def read_by_query(ctx: ServiceContext, collection: str, query: Query) -> list[Item]:
    """Items matching ``query`` as the caller may see them (or aggregate rows when the query aggregates)."""
    return await _read(ctx, _level(ctx, collection), query)


async def read_many(ctx: ServiceContext, collection: str, keys: Sequence[Any], query: Query) -> list[Item]:
    """The items with these primary keys (and matching the query's filter), in the query's order."""
    level = _level(ctx, collection)
    typed = _typed_keys(level, keys)
    if not typed:
        return []
    if query.limit is None:
        query = query.replace(limit=len(typed))
    return await _read(ctx, level, query, level.column(level.pk).in_(typed))


async def read_one(ctx: ServiceContext, collection: str, key: Any, query: Query) -> Item:
    """One item; FORBIDDEN (never "not found", so existence does not leak) when missing or not readable."""
    items = await read_many(ctx, collection, [key], query.replace(limit=1, offset=None, page=None))
    if not items:
        raise ForbiddenError()
    return items[0]


async def read_meta(ctx: ServiceContext, collection: str, query: Query, wanted: Iterable[str]) -> dict[str, int]:
    """``total_count`` (rows the caller may see) and/or ``filter_count`` (those matching filter + search),
    both from one statement."""
    names = set(wanted)
    keys = [k for k in META_KEYS if k in names or "*" in names]
    if not keys:
        return {}
    level = _level(ctx, collection)
    matching = where(level, query.filter, query.search)
    filtered = sa.func.count() if matching is None else sa.func.count(sa.case((matching, sa.literal(1))))
    stmt = sa.select(sa.func.count(), filtered).select_from(level.table)
    visible = level.row_condition()
    if visible is not None:
        stmt = stmt.where(visible)
    async with ctx.connection() as conn:
        row = (await conn.execute(stmt)).one()
    counts = {"total_count": int(row[0]), "filter_count": int(row[1])}
    return {k: counts[k] for k in keys}


async def _read(ctx: ServiceContext, level: Level, query: Query, *extra: Condition) -> list[Item]:
    limit, offset = page_window(query.limit, query.offset, query.page, _default_limit(ctx))
    if query.aggregate or query.group_by:
        return await _aggregate(ctx, level, query, limit, offset, extra)
    node = plan(level, query.fields, alias=query.alias, deep=query.deep, backlink=query.backlink)
    proj = projection(node)
    stmt = level_statement(
        proj, filter=query.filter, search=query.search, sort=query.sort, window=Window(limit, offset), extra=extra
    )
    async with ctx.connection() as conn:
        root = fetched(proj, (await conn.execute(stmt)).all())
        await _fetch_branches(conn, root, _default_limit(ctx))
    return root.items


async def _fetch_branches(conn: AsyncConnection, parent: Fetched, default_limit: int) -> None:
    """One statement per branch for all parents at once, then the same one level down."""
    for branch in parent.proj.node.branches:
        if branch.kind == "m2o":
            keys = m2o_keys(parent, branch)
            if not keys:
                continue  # every value stays null
            proj = projection(branch.node)
            child = fetched(proj, (await conn.execute(m2o_statement(branch, proj, keys))).all())
            await _fetch_branches(conn, child, default_limit)
            merge_m2o(parent, branch, child)
        else:
            keys = o2m_keys(parent, branch)
            if not keys:
                empty_branch(parent, branch)
                continue
            proj = projection(branch.node, branch.relation.field)
            child = fetched(proj, (await conn.execute(o2m_statement(branch, proj, keys, default_limit))).all())
            await _fetch_branches(conn, child, default_limit)
            merge_o2m(parent, branch, child)


async def _aggregate(
    ctx: ServiceContext, level: Level, query: Query, limit: int, offset: int, extra: Sequence[Condition]
) -> list[Item]:
    agg = plan_aggregate(level, query.aggregate, query.group_by)
    condition = where(level, query.filter, query.search, *extra)
    stmt = aggregate_statement(level, agg, condition, query.sort, limit, offset)
    async with ctx.connection() as conn:
        rows = (await conn.execute(stmt)).all()
    return [agg.shape(row) for row in rows]


_INTEGER_KEYS = frozenset({"integer", "bigInteger"})


def _typed_keys(level: Level, keys: Sequence[Any]) -> list[Any]:
    """Keys as the primary key's type (REST passes ``"5"``); keys that cannot be one match nothing."""
    pk_type = level.info.fields[level.pk].type
    if pk_type not in _INTEGER_KEYS:
        return [str(k) for k in keys if k is not None]
    typed: list[Any] = []
    for key in keys:
        try:
            typed.append(int(key))
        except (TypeError, ValueError):
            continue
    return typed
