"""The read path: every item read in the product (REST items, system collections, WebSocket subscriptions and
``items`` reads) goes through these four functions.

Dynamic variables in the query's filters (``$CURRENT_USER``, ``$NOW``…) are resolved for the caller at each
entry point (``tidepool.services.dynamic``), so every transport gets them. A read is then planned
(``query.fields.plan``: names resolved, permissions checked, nothing executed), and run as one SELECT for
the root and one per relational branch per level (``query.relations``), so the number of statements depends
on the shape of the query and never on the number of rows.

Planning costs more CPU than running a small read (building SQLAlchemy constructs and their cache keys), and
the same reads come back again and again (a client polling a list, every subscriber of a collection). So a
finished plan, statements included, is kept in ``tidepool.services.plans`` under everything it depends on:
the schema overview (by identity: a reload builds a new one), the dialect, the caller's read permissions, the
query and the default limit. The only values bound per run are keys (``:keys``); every other client value is
already a bound parameter inside the kept statements.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import PoolProxiedConnection

from tidepool import chunked
from tidepool.db import direct
from tidepool.db.key_lists import KEYS
from tidepool.errors import ForbiddenError
from tidepool.query.aggregate import AggregatePlan, aggregate_statement, plan_aggregate
from tidepool.query.compile import Level, page_window
from tidepool.query.complexity import FieldBudget
from tidepool.query.depth import check_relational_depth
from tidepool.query.fields import plan
from tidepool.query.model import Query
from tidepool.query.relations import (
    Fetched,
    Item,
    Row,
    Step,
    Window,
    empty_branch,
    fetched,
    keys_in,
    m2o_keys,
    merge_m2o,
    merge_o2m,
    merge_o2m_aggregate,
    o2m_keys,
    read_steps,
    where,
)
from tidepool.services import dynamic, plans
from tidepool.services.base import ServiceContext, TxContext

META_KEYS = ("total_count", "filter_count")


def _level(ctx: ServiceContext, collection: str) -> Level:
    return Level.open(ctx.schema, ctx.access, ctx.dialect, collection)


def _check(ctx: ServiceContext, query: Query) -> None:
    """What Directus's ``validateQuery`` refuses before any read: paths deeper than ``MAX_RELATIONAL_DEPTH``."""
    check_relational_depth(query, ctx.settings.MAX_RELATIONAL_DEPTH)


def _default_limit(ctx: ServiceContext) -> int:
    """``QUERY_LIMIT_DEFAULT``, capped by ``QUERY_LIMIT_MAX`` when one is set (Directus's sanitizer does the
    same: a query without ``limit`` never gets more rows than an explicit one could)."""
    default = ctx.settings.QUERY_LIMIT_DEFAULT
    maximum = ctx.settings.QUERY_LIMIT_MAX
    return default if maximum is None or maximum < 0 else min(default, maximum)


async def read_by_query(ctx: ServiceContext, collection: str, query: Query) -> list[Item]:
    """Items matching ``query`` as the caller may see them (or aggregate rows when the query aggregates)."""
    _check(ctx, query)
    query = await dynamic.resolve_query(ctx, query)
    if query.aggregate or query.group_by:
        return await _aggregate(ctx, collection, query)
    return await _read(ctx, collection, query, None)


async def read_many(ctx: ServiceContext, collection: str, keys: Sequence[Any], query: Query) -> list[Item]:
    """The items with these primary keys (and matching the query's filter), in the query's order."""
    _check(ctx, query)
    query = await dynamic.resolve_query(ctx, query)
    level = _level(ctx, collection)
    typed = _typed_keys(level, keys)
    if not typed:
        return []
    if query.limit is None:
        # ``pk IN keys`` never yields more than len(keys) rows, so "all" is the same read and one plan serves
        # every number of keys; only a page needs the real number (its offset is counted in limits).
        query = query.replace(limit=len(typed) if query.page is not None else -1)
    if query.aggregate or query.group_by:
        return await _aggregate(ctx, collection, query, typed)
    return await _read(ctx, collection, query, typed)


async def read_one(ctx: ServiceContext, collection: str, key: Any, query: Query) -> Item:
    """One item; FORBIDDEN (never "not found", so existence does not leak) when missing or not readable."""
    items = await read_many(ctx, collection, [key], _one(query))
    if not items:
        raise ForbiddenError()
    return items[0]


def _one(query: Query) -> Query:
    return query.replace(limit=1, offset=None, page=None)


@dataclass(frozen=True)
class KeyedRead:
    """``read_one``'s read of one collection with one query, as one SQL statement a writer can run on its own
    connection, in its own transaction, right after it inserted the row (``services/fast_create.py``): the
    same plan, permissions and serialization as ``read_one``, only run elsewhere. ``statement`` may be called
    on the driver's thread."""

    steps: Step
    prepared: direct.Prepared
    sql: str
    template: tuple[Any, ...]
    pk_type: str

    def statement(self, key: Any) -> tuple[str, tuple[Any, ...]] | None:
        """The SQL and parameters reading ``key``; None when ``key`` cannot be one (it matches nothing)."""
        typed = _typed(self.pk_type, [key])
        return (self.sql, direct.bind_keys(self.template, typed)) if typed else None

    def items(self, rows: Sequence[Row]) -> list[Item]:
        """The driver's rows as ``read_one`` answers them (empty: the caller may not read the item)."""
        return fetched(self.steps.proj, direct.processed(self.prepared, rows)).items


async def keyed_read(ctx: ServiceContext, collection: str, query: Query) -> KeyedRead | None:
    """``read_one(ctx, collection, <key>, query)`` as a ``KeyedRead``, planned before the key is known; None
    when it is more than one prepared statement (relations, aggregates) or reads do not run on the driver
    (``direct.supported``). Raises what planning the read raises (then the caller reads as usual).

    The answer is kept with the read plans (``plans``: same schema, dialect, read permissions and query), so
    every create answered with the same query string skips checking, resolving and planning it again: that
    was a tenth of the Tidepool code a ``POST /items`` ran. Only a query without ``$CURRENT_USER``-like
    placeholders is kept (their values are the caller's); a query that raised is never kept."""
    if not direct.supported(ctx.engine):
        return None
    cache_key = plans.key(ctx, "keyed-read", collection, query, _default_limit(ctx))
    kept: tuple[KeyedRead | None] | None = plans.get(ctx, cache_key)
    if kept is not None:
        return kept[0]
    one = _one(query)
    _check(ctx, one)
    resolved = await dynamic.resolve_query(ctx, one)
    read, final = _keyed_read(ctx, collection, resolved)
    if resolved is one and final:
        plans.put(ctx, cache_key, (read,))
    return read


def _keyed_read(ctx: ServiceContext, collection: str, query: Query) -> tuple[KeyedRead | None, bool]:
    """The read, and whether that answer is final: a plan whose result types are not known yet (its first
    read-back has not run) is no read now, but will be one once it has, so that None is not to be kept."""
    if query.aggregate or query.group_by:
        return None, True
    steps = _steps(ctx, collection, query, keyed=True)
    if steps.children or not _prepared(steps, ctx.engine.dialect):
        return None, True
    prepared = steps.prepared[0] if steps.prepared else None
    info = ctx.schema.collection(collection)
    if prepared is None or prepared.keys_name is None or info is None:
        return None, True
    if prepared.results is None:
        return None, False
    sql, template = prepared.expansion(1)
    return KeyedRead(steps, prepared, sql, template, info.fields[info.primary_key].type), True


def check_read(ctx: ServiceContext, collection: str, query: Query) -> None:
    """Plan, never run, a by-keys read of ``query`` (as an event read makes it): raises what that read would,
    e.g. ``FORBIDDEN`` for a collection or field the caller may no longer read. Costs no statement."""
    default_limit = _default_limit(ctx)
    query = query.replace(limit=-1, meta=None)
    aggregated = bool(query.aggregate or query.group_by)
    cache_key = plans.key(ctx, "aggregate-keys" if aggregated else "keys", collection, query, default_limit)
    if plans.get(ctx, cache_key) is not None:
        return
    if aggregated:
        plans.put(ctx, cache_key, _plan_aggregate(ctx, collection, query, True, default_limit))
    else:
        plans.put(ctx, cache_key, _plan_read(ctx, collection, query, True, default_limit))


async def read_meta(ctx: ServiceContext, collection: str, query: Query, wanted: Iterable[str]) -> dict[str, int]:
    """``total_count`` (rows the caller may see) and/or ``filter_count`` (those matching filter + search),
    both from one statement."""
    _check(ctx, query)
    names = set(wanted)
    query = await dynamic.resolve_query(ctx, query)
    keys = [k for k in META_KEYS if k in names or "*" in names]
    if not keys:
        return {}
    key = plans.key(ctx, "meta", collection, query)
    stmt = plans.get(ctx, key)
    if stmt is None:
        stmt = plans.put(ctx, key, _meta_statement(_level(ctx, collection), query))
    async with ctx.connection() as conn:
        row = (await conn.execute(stmt)).one()
    counts = {"total_count": int(row[0]), "filter_count": int(row[1])}
    return {k: counts[k] for k in keys}


def _meta_statement(level: Level, query: Query) -> sa.Select[int, int]:
    matching = where(level, query.filter, query.search)
    filtered = sa.func.count() if matching is None else sa.func.count(sa.case((matching, sa.literal(1))))
    stmt = sa.select(sa.func.count(), filtered).select_from(level.table)
    visible = level.row_condition()
    return stmt if visible is None else stmt.where(visible)


def _steps(ctx: ServiceContext, collection: str, query: Query, keyed: bool) -> Step:
    """The read's plan: the kept one, or planned now and kept."""
    default_limit = _default_limit(ctx)
    cache_key = plans.key(ctx, "keys" if keyed else "read", collection, query, default_limit)
    steps: Step | None = plans.get(ctx, cache_key)
    if steps is None:
        steps = plans.put(ctx, cache_key, _plan_read(ctx, collection, query, keyed, default_limit))
    return steps


async def _read(ctx: ServiceContext, collection: str, query: Query, keys: list[Any] | None) -> list[Item]:
    steps = _steps(ctx, collection, query, keyed=keys is not None)
    if direct.supported(ctx.engine) and not isinstance(ctx, TxContext) and _prepared(steps, ctx.engine.dialect):
        try:
            return await direct.on_connection(ctx.engine, lambda raw: _run_steps(_direct_runner(raw), steps, keys))
        except direct.DirectReadFailed:
            pass  # run again through SQLAlchemy, which reports the error as every other statement's
    async with ctx.connection() as conn:
        return await _run_steps(_sqlalchemy_runner(conn), steps, keys)


Runner = Callable[[Step, list[Any] | None], Awaitable[Sequence[Row]]]


def _sqlalchemy_runner(conn: AsyncConnection) -> Runner:
    async def run(step: Step, keys: list[Any] | None) -> Sequence[Row]:
        rows: Sequence[Row] = (await conn.execute(step.stmt, None if keys is None else {KEYS: keys})).all()
        return rows

    return run


def _prepared(step: Step, dialect: Dialect) -> bool:
    """Whether every statement of the plan runs on the driver, each prepared once (kept on its ``Step``): a plan
    with one statement ``direct.prepare`` refuses goes through SQLAlchemy whole, rather than starting on the
    driver and being run a second time from its first statement."""
    if step.prepared is None:
        step.prepared = (direct.prepare(step.stmt, dialect, KEYS),)
    return step.prepared[0] is not None and all(_prepared(child, dialect) for _, child in step.children)


def _direct_runner(raw: PoolProxiedConnection) -> Runner:
    """Steps run on the driver's connection (``tidepool.db.direct``), each as ``_prepared`` prepared it."""

    async def run(step: Step, keys: list[Any] | None) -> Sequence[Row]:
        assert step.prepared is not None and step.prepared[0] is not None
        return await direct.run(raw, step.prepared[0], keys)

    return run


async def _run_steps(run: Runner, steps: Step, keys: list[Any] | None) -> list[Item]:
    rows = list(await run(steps, keys))  # a large read (a batch's read-back) made into items a chunk at a time
    root = Fetched(steps.proj, rows, await chunked.build(rows, lambda part: [steps.proj.item(row) for row in part]))
    await _fetch_branches(run, root, steps)
    return root.items


def _plan_read(ctx: ServiceContext, collection: str, query: Query, keyed: bool, default_limit: int) -> Step:
    level = _level(ctx, collection)
    limit, offset = page_window(query.limit, query.offset, query.page, default_limit)
    budget = FieldBudget(ctx.settings.MAX_QUERY_COMPLEXITY)
    node = plan(level, query.fields, alias=query.alias, deep=query.deep, backlink=query.backlink, budget=budget)
    return read_steps(
        node,
        filter=query.filter,
        search=query.search,
        sort=query.sort,
        window=Window(limit, offset),
        keyed=keyed,
        default_limit=default_limit,
    )


async def _fetch_branches(run: Runner, parent: Fetched, step: Step) -> None:
    """One statement per branch for all parents at once, then the same one level down."""
    for branch, child_step in step.children:
        keys = m2o_keys(parent, branch) if branch.kind == "m2o" else o2m_keys(parent, branch)
        if not keys:
            empty_branch(parent, branch, child_step.proj)  # m2o values stay null, o2m lists are empty
            continue
        rows = await run(child_step, list(keys))
        if child_step.aggregate is not None:
            merge_o2m_aggregate(parent, branch, child_step.aggregate, rows)
            continue
        child = fetched(child_step.proj, rows)
        await _fetch_branches(run, child, child_step)
        if branch.kind == "m2o":
            merge_m2o(parent, branch, child)
        else:
            merge_o2m(parent, branch, child)


async def _aggregate(ctx: ServiceContext, collection: str, query: Query, keys: list[Any] | None = None) -> list[Item]:
    default_limit = _default_limit(ctx)
    cache_key = plans.key(ctx, "aggregate" if keys is None else "aggregate-keys", collection, query, default_limit)
    planned = plans.get(ctx, cache_key)
    if planned is None:
        planned = plans.put(ctx, cache_key, _plan_aggregate(ctx, collection, query, keys is not None, default_limit))
    agg, stmt = planned
    async with ctx.connection() as conn:
        rows = (await conn.execute(stmt, None if keys is None else {KEYS: keys})).all()
    return [agg.shape(row) for row in rows]


def _plan_aggregate(
    ctx: ServiceContext, collection: str, query: Query, keyed: bool, default_limit: int
) -> tuple[AggregatePlan, sa.Select[Any]]:
    level = _level(ctx, collection)
    limit, offset = page_window(query.limit, query.offset, query.page, default_limit)
    agg = plan_aggregate(level, query.aggregate, query.group_by)
    extra = keys_in(level, level.column(level.pk)) if keyed else None
    condition = where(level, query.filter, query.search, extra)
    return agg, aggregate_statement(level, agg, condition, query.sort, limit, offset)


_INTEGER_KEYS = frozenset({"integer", "bigInteger"})


def _typed_keys(level: Level, keys: Sequence[Any]) -> list[Any]:
    """Keys as the primary key's type (REST passes ``"5"``); keys that cannot be one match nothing."""
    return _typed(level.info.fields[level.pk].type, keys)


def _typed(pk_type: str, keys: Sequence[Any]) -> list[Any]:
    if pk_type not in _INTEGER_KEYS:
        return [str(k) for k in keys if k is not None]
    typed: list[Any] = []
    for key in keys:
        try:
            typed.append(int(key))
        except (TypeError, ValueError):
            continue
    return typed
