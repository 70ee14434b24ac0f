"""Read statements compiled once and run on the driver's own connection: one call, no SQLAlchemy in between.

A kept read plan (``services/plans.py``) runs the same SELECTs again and again. Through SQLAlchemy each run
costs far more CPU than SQLite or PostgreSQL spend on a 10-row read: the statement's cache key is derived
again, the connection enters a transaction that is rolled back when it is returned (a thread hop on SQLite,
``BEGIN`` and ``ROLLBACK`` round trips on PostgreSQL), each driver call hops through SQLAlchemy's greenlet
bridge, and each row is wrapped. Measured on a 10-row read: 500 µs of CPU through SQLAlchemy, 200 µs this way.

So a ``Prepared`` statement is compiled once, by SQLAlchemy, for the engine's dialect: its SQL text, its bound
values already passed through their types' bind processors, and one result processor per column, both taken
from the types exactly as SQLAlchemy would apply them (the SQL and the values are SQLAlchemy's own, only the
execution differs). The only parameter bound per run is ``:keys`` (``db/key_lists.py``): an expanding ``IN``,
whose expansion is kept per number of keys, or on PostgreSQL one array parameter, whatever the number. A run
is one driver call: ``execute_fetchall`` on aiosqlite's connection (one hop to its thread), ``fetch`` on
asyncpg's (one round trip, outside any transaction, on a statement asyncpg keeps prepared), through a connection
checked out of the engine's pool as any other.

Only SQLite and PostgreSQL are served, and only while nobody listens to SQLAlchemy's cursor events
(``supported``); any statement the compiler renders with something other
than positional parameters and ``:keys`` is left to SQLAlchemy (``prepare`` answers None). A driver error is
not translated here: ``run`` raises ``DirectReadFailed``, and the caller runs the same read through SQLAlchemy,
where errors get their usual mapping (a lost database is 503 everywhere). The connection goes back to the pool
when the error was the database's answer to the statement (a client's NUL in a filter on PostgreSQL, say), and
is discarded otherwise: a client's bad value costs no new connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import await_, greenlet_spawn

Processor = Callable[[Any], Any] | None
T = TypeVar("T")
_DRIVERS = frozenset({("sqlite", "aiosqlite"), ("postgresql", "asyncpg")})
_MAX_EXPANSIONS = 64  # key counts kept per statement (reads by keys mostly come in a few sizes)


def forget_statements(engine: AsyncEngine) -> None:
    """Tell every connection of ``engine`` to drop the statements its driver keeps prepared, before its next
    statement: called when the schema changed (here or in another process, ``SchemaStore.reload``).

    asyncpg keeps each connection's statements prepared by SQL text; after a collection is dropped and created
    again, the same text may return another type (an ``integer`` key that became ``bigInteger``), and
    PostgreSQL refuses to run the old plan (``cached plan must not change result type``), which inside a
    write's transaction asyncpg can only raise. SQLAlchemy's asyncpg adapter has the remedy: a time on the
    dialect past which every connection reloads asyncpg's schema state (its statement and type caches) before
    its next statement. Its own DDL moves that time, but only in the process that ran the DDL; this moves it
    in every process that sees the change, and ``up_to_date`` applies it on the paths that bypass the adapter.
    """
    invalidate = getattr(engine.sync_engine.dialect, "_invalidate_schema_cache", None)
    if invalidate is not None:  # asyncpg's dialect only
        invalidate()


async def up_to_date(adapted: Any, dialect: Dialect) -> None:
    """Apply ``forget_statements`` to ``adapted`` (SQLAlchemy's asyncpg adapter) as the adapter does before
    each statement of its own: asyncpg's caches are dropped if the schema changed since they were filled."""
    asof = getattr(dialect, "_invalidate_schema_cache_asof", 0)
    if asof > adapted._invalidate_schema_cache_asof:
        await adapted._check_type_cache_invalidation(asof)


class DirectReadFailed(Exception):
    """The driver raised: the read is to be run again through SQLAlchemy."""


def driver_errors() -> tuple[type[Exception], ...]:
    """asyncpg's errors after which a statement's connection is still good: the server's answer to it, and a
    value asyncpg could not encode (raised before anything was sent)."""
    from asyncpg.exceptions import _base  # type: ignore[import-untyped]  # only where asyncpg is the driver

    return (_base.PostgresError, _base.DataError)  # the server's; the client's encoding (not the SQLSTATE one)


def supported(engine: AsyncEngine) -> bool:
    """Whether reads on ``engine`` may bypass SQLAlchemy: on SQLite and PostgreSQL, unless someone listens to
    SQLAlchemy's cursor events (tests and benchmarks count and time statements that way), who must see every
    statement."""
    dispatch = engine.sync_engine.dispatch
    watched = len(dispatch.before_cursor_execute) + len(dispatch.after_cursor_execute)
    return not watched and (engine.dialect.name, engine.dialect.driver) in _DRIVERS


class _Key:
    """Stands for one key while a key count's expansion is rendered, so its positions can be found."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class _AllKeys:
    """Stands for the whole list of keys bound as one array parameter (``key_lists``, on PostgreSQL)."""

    __slots__ = ()


@dataclass
class Prepared:
    """One SELECT as the driver runs it: SQL, bound values, and each column's result processor."""

    compiled: sa.sql.compiler.SQLCompiler
    keys_name: str | None
    sql: str
    values: tuple[Any, ...]
    results: tuple[Processor, ...] | None  # None on PostgreSQL until the first run tells the column types
    expansions: dict[int, tuple[str, tuple[Any, ...]]] = field(default_factory=dict)

    whole: bool = False  # ``:keys`` is one array parameter (PostgreSQL, ``db/key_lists.py``), not an expanding IN

    def statement(self, keys: Sequence[Any] | None) -> tuple[str, tuple[Any, ...]]:
        """The SQL and positional parameters of one run."""
        if self.keys_name is None:
            return self.sql, self.values
        assert keys is not None
        sql, template = self.expansion(len(keys))
        return sql, bind_keys(template, keys)

    def expansion(self, count: int) -> tuple[str, tuple[Any, ...]]:
        """The SQL and parameter template for ``count`` keys (``bind_keys`` fills it; it is safe to do that in
        another thread, unlike ``statement``, which may add to ``expansions``). One array parameter serves every
        count."""
        count = -1 if self.whole else count
        found = self.expansions.get(count)
        return found if found is not None else self._expand(count)

    def _expand(self, count: int) -> tuple[str, tuple[Any, ...]]:
        assert self.keys_name is not None
        compiled = self.compiled
        slots: Any = _AllKeys() if self.whole else [_Key(i) for i in range(count)]
        params = compiled.construct_params({self.keys_name: slots}, _check=False)
        expanded = compiled._process_parameters_for_postcompile(params)
        assert expanded.positiontup is not None
        template: list[tuple[Any, Processor]] = []
        for name in expanded.positiontup:
            value = expanded.parameters[name]
            process = _processor(expanded.processors.get(name) or compiled._bind_processors.get(name))
            if isinstance(value, _Key | _AllKeys):
                template.append((value, process))
            else:
                template.append((process(value) if process else value, None))
        if len(self.expansions) >= _MAX_EXPANSIONS:
            self.expansions.clear()
        self.expansions[count] = (expanded.statement, tuple(template))
        return self.expansions[count]


def bind_keys(template: tuple[Any, ...], keys: Sequence[Any]) -> tuple[Any, ...]:
    """One run's positional parameters: ``template`` (from ``Prepared.expansion``) with ``keys`` bound."""
    return tuple(_bound(slot, process, keys) for slot, process in template)


def _bound(slot: Any, process: Processor, keys: Sequence[Any]) -> Any:
    if isinstance(slot, _Key):
        return process(keys[slot.index]) if process else keys[slot.index]
    if isinstance(slot, _AllKeys):
        return process(list(keys)) if process else list(keys)
    return slot


def prepare(stmt: sa.Select[Any], dialect: Dialect, keys_name: str) -> Prepared | None:
    """``stmt`` compiled for ``dialect``, or None when it needs more than positional values and ``:keys``."""
    compiled = stmt.compile(dialect=dialect)
    assert isinstance(compiled, sa.sql.compiler.SQLCompiler)
    if compiled.positiontup is None or compiled.literal_execute_params:
        return None
    post = {bind.key for bind in compiled.post_compile_params}
    if post - {keys_name} or not all(callable(p) for p in compiled._bind_processors.values()):
        return None  # another late-rendered value, or a tuple's per-element processors
    keyed = keys_name in post
    whole = not keyed and keys_name in compiled.positiontup
    results: tuple[Processor, ...] | None = None
    if dialect.name == "sqlite":  # SQLite tells no column types: SQLAlchemy processes by declared type only
        results = tuple(column.type._cached_result_processor(dialect, None) for column in compiled._result_columns)
    if keyed or whole:
        return Prepared(compiled, keys_name, compiled.string, (), results, whole=whole)
    params = compiled.construct_params()
    values = []
    for name in compiled.positiontup:
        process = _processor(compiled._bind_processors.get(name))
        values.append(process(params[name]) if process else params[name])
    return Prepared(compiled, None, compiled.string, tuple(values), results)


def _processor(found: Any) -> Processor:
    """A bind processor (``prepare`` refused statements whose processors are not plain callables)."""
    return found if callable(found) else None


async def on_connection(engine: AsyncEngine, work: Callable[[PoolProxiedConnection], Awaitable[T]]) -> T:
    """``work`` on a pooled connection, checked out and returned as SQLAlchemy does (pre-ping, reset) but
    without its ``Connection`` and transaction on top; discarded instead of returned when ``work`` fails,
    unless the failure was the database's answer to a statement (``_answered``).

    The checkout, the wait for ``work`` and the return all run in one greenlet of SQLAlchemy's async bridge
    (the pool is synchronous code that may wait on the driver): one greenlet per read, not one for the
    checkout and another for the return."""
    return await greenlet_spawn(_on_connection, engine, work)


def _on_connection(engine: AsyncEngine, work: Callable[[PoolProxiedConnection], Awaitable[T]]) -> T:
    raw = engine.sync_engine.raw_connection()
    try:
        return await_(work(raw))
    except BaseException as exc:
        if not _answered(engine, exc):  # a failed or cancelled driver call may leave it mid-statement
            raw.invalidate()
        raise
    finally:
        raw.close()


def _answered(engine: AsyncEngine, exc: BaseException) -> bool:
    """Whether ``exc`` (or the driver error a ``DirectReadFailed`` wraps) is the database's answer to a statement
    on asyncpg: the connection is then as good as before and goes back to the pool, so that a client's bad value
    (a NUL in a filter) does not cost a new connection, a PostgreSQL backend, per request."""
    if engine.dialect.driver != "asyncpg":
        return False
    return isinstance(exc.__cause__ if isinstance(exc, DirectReadFailed) else exc, driver_errors())


async def run(raw: PoolProxiedConnection, prepared: Prepared, keys: Sequence[Any] | None = None) -> list[Any]:
    """The rows of one run of ``prepared`` on ``raw``, each value as SQLAlchemy would have returned it."""
    sql, params = prepared.statement(keys)
    driver: Any = raw.driver_connection
    try:
        if prepared.compiled.dialect.name != "sqlite":
            await up_to_date(raw.dbapi_connection, prepared.compiled.dialect)
        if prepared.results is None:  # PostgreSQL, first run: the column types decide the processors
            statement = await driver.prepare(sql)
            rows = await statement.fetch(*params)
            dialect = prepared.compiled.dialect
            columns = prepared.compiled._result_columns
            prepared.results = tuple(
                column.type._cached_result_processor(dialect, attribute.type.oid)
                for column, attribute in zip(columns, statement.get_attributes(), strict=True)
            )
        elif prepared.compiled.dialect.name == "sqlite":
            rows = list(await driver.execute_fetchall(sql, params))
        else:
            rows = await driver.fetch(sql, *params)
    except Exception as error:
        raise DirectReadFailed(str(error)) from error
    return processed(prepared, rows)


def processed(prepared: Prepared, rows: Sequence[Any]) -> list[Any]:
    """The driver's ``rows`` of ``prepared`` as SQLAlchemy would have returned them (its result processors)."""
    processors = prepared.results
    assert processors is not None  # known before the first run on SQLite, after it on PostgreSQL
    if not any(processors):
        return list(rows)
    indexed = [(i, p) for i, p in enumerate(processors) if p is not None]
    out = []
    for row in rows:
        values = list(row)
        for i, process in indexed:
            value = values[i]
            if value is not None:
                values[i] = process(value)
        out.append(values)
    return out
