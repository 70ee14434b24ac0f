"""A write's statements on PostgreSQL, sent to asyncpg directly inside the transaction SQLAlchemy holds.

A WebSocket create on PostgreSQL cost ~10× the create ceiling's CPU, and a profile (bench/README.md,
``create``) put a third of it in SQLAlchemy's execution of two statements: the item's INSERT and the history's
activity + revision INSERT. Each execution builds the statement, derives its cache key, looks up the compiled
form, hops through the greenlet bridge and wraps the result, around a driver call that costs a fraction of
that. So here a write statement is compiled **once** (per table and column set, by its caller's cached
builder) by SQLAlchemy for the engine's dialect, and each run is one asyncpg call on the same connection and in
the same transaction, with the values put through the column types' own bind processors and the returned
values through their result processors, exactly as SQLAlchemy applies them (``db/direct.py`` does the same for
reads; the SQL and the conversions are SQLAlchemy's own, only the execution differs).

The transaction stays SQLAlchemy's: it begins lazily, at its connection's first statement, so ``_driver``
begins it through SQLAlchemy's asyncpg adapter when nothing has yet (the COMMIT or ROLLBACK is then
SQLAlchemy's as always). A driver error is raised as SQLAlchemy would raise it (``sa.exc.IntegrityError`` and
the like, the adapter's exception with asyncpg's as its cause), so ``tidepool.seams.translated`` maps a broken
constraint to the same Directus error as on SQLAlchemy's path; a lost connection becomes the same 503.

Used only where ``serves``: asyncpg, and nobody listening to SQLAlchemy's cursor events (tests and the
statement-timing benchmark count statements that way, and must see every one).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection

from tidepool.db import direct
from tidepool.db.binding import Bound  # one binding of values for the driver, both engines
from tidepool.db.direct import Processor
from tidepool.db.errors import outages_of

log = logging.getLogger(__name__)
Then = Callable[[Any, list[Any] | None], Awaitable[None]]  # what runs after a lone statement, on its connection


def serves(conn: AsyncConnection) -> bool:
    """Whether ``conn``'s writes may go to asyncpg directly (see the module's docstring)."""
    return conn.dialect.driver == "asyncpg" and direct.supported(conn.engine)


@dataclass
class Statement:
    """One write statement as asyncpg runs it: SQLAlchemy's SQL, its parameters' order and bind processors,
    and (known after the first run, from the columns' types) the result processors of what it returns."""

    compiled: sa.sql.compiler.SQLCompiler
    results: tuple[Processor, ...] | None = field(default=None)
    bound: Bound = field(init=False)

    def __post_init__(self) -> None:
        self.bound = Bound.of(self.compiled)

    @classmethod
    def of(cls, statement: sa.sql.ClauseElement, dialect: sa.Dialect, keys: Sequence[str] | None = None) -> Statement:
        """``statement`` compiled for ``dialect`` (``keys``: the columns an INSERT without values names)."""
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        assert isinstance(compiled, sa.sql.compiler.SQLCompiler)
        if compiled.positiontup is None or compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("not a statement with positional parameters only")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a column default computed in Python at execution")
        return cls(compiled)

    def arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """``values`` (by parameter or column key) as the driver takes them, in the statement's order."""
        return self.bound.rows([values])[0]


@functools.lru_cache(maxsize=256)
def insert_statement(table: sa.Table, keys: tuple[str, ...], returning: str, dialect: sa.Dialect) -> Statement | None:
    """``INSERT INTO table (keys) VALUES (...) RETURNING returning``, compiled once per column set; None when
    it cannot be run that way (then SQLAlchemy runs the write)."""
    try:
        return Statement.of(sa.insert(table).returning(table.c[returning]), dialect, keys)
    except ValueError:
        return None


async def insert(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any], returning: str) -> list[Any] | None:
    """Insert one row of ``values`` (column key to value, as ``sa.insert(table).values(values)`` takes them)
    and return its ``returning`` column, as ``[value]``; None when this path does not serve the write (not
    PostgreSQL on asyncpg, a value that is an SQL expression, a statement that needs SQLAlchemy's execution):
    the caller then runs it through SQLAlchemy."""
    if not serves(conn) or any(isinstance(v, sa.sql.ClauseElement) for v in values.values()):
        return None
    statement = insert_statement(table, tuple(values), returning, conn.dialect)
    if statement is None:
        return None
    row = await fetchrow(conn, statement, values)
    assert row is not None  # an INSERT ... VALUES ... RETURNING returns its row
    return row


async def fetchrow(conn: AsyncConnection, statement: Statement, values: Mapping[str, Any]) -> list[Any] | None:
    """Run ``statement`` with ``values`` in ``conn``'s transaction; its first returned row (each value as
    SQLAlchemy returns it), or None."""
    args = statement.arguments(values)
    adapted = await _adapted(conn)
    try:
        row = await _fetchrow(await _driver(adapted, conn.dialect), statement, args)
    except Exception as error:
        raise _as_sqlalchemy(conn.engine, adapted, error, statement.compiled.string, args) from None
    return _processed(statement, row)


async def fetchrow_alone(
    engine: AsyncEngine, statement: Statement, values: Mapping[str, Any], then: Then | None = None
) -> list[Any] | None:
    """Run ``statement`` with ``values`` as a transaction of its own (no BEGIN: PostgreSQL commits a lone
    statement when it is done) on a connection of ``engine``'s pool; its first returned row, as ``fetchrow``
    answers it. ``then(driver, row)`` runs next on the same connection, after the commit (a reply's read): it
    must not raise. A driver error is raised as ``fetchrow`` raises it; the connection goes back to the pool
    unless it was lost (``direct.on_connection``: an error of the statement leaves it idle, ready for the next)."""
    args = statement.arguments(values)
    adapted: Any = None  # the connection's adapter, once checked out
    sent = False  # whether the statement went to the database (it commits itself: lost then, the outcome is open)

    async def work(raw: PoolProxiedConnection) -> Any:
        nonlocal adapted, sent
        adapted = raw.dbapi_connection
        driver: Any = raw.driver_connection
        await direct.up_to_date(adapted, engine.dialect)  # statements kept for an old schema dropped
        sent = True
        row = await _fetchrow(driver, statement, args)
        if then is not None:
            try:
                await then(driver, _processed(statement, row))
            except Exception as exc:  # committed: what follows is not the write's business (the caller reads
                # back instead); a connection lost just after the commit is no bug, so no traceback
                log.warning("after a lone statement: %s: %s", type(exc).__name__, exc)
        return row

    try:
        row = await direct.on_connection(engine, work)
    except Exception as error:
        failed = _as_sqlalchemy(engine, adapted, error, statement.compiled.string, args)
        if sent and _cut_off(error):  # the database may have committed it before the connection went
            from tidepool.db.errors import commit_unknown  # db.errors is above this module (seams uses it)

            failed = commit_unknown(failed) or failed
        raise failed from None
    return _processed(statement, row)


def _cut_off(error: BaseException) -> bool:
    """Whether the connection went away with no answer to a statement sent on it (not the database's refusal,
    nor a connection known closed before the statement was sent): asyncpg's "closed in the middle of
    operation", or the socket's own error."""
    lost = getattr(sys.modules.get("asyncpg.exceptions"), "ConnectionDoesNotExistError", None)  # loaded: asyncpg's
    return isinstance(error, OSError) or (isinstance(lost, type) and isinstance(error, lost))


async def _fetchrow(driver: Any, statement: Statement, args: Sequence[Any]) -> Any:
    sql = statement.compiled.string
    if statement.results is not None:
        return await driver.fetchrow(sql, *args)
    prepared = await driver.prepare(sql)  # the first run: the returned columns' types decide the processors
    row = await prepared.fetchrow(*args)
    dialect, columns = statement.compiled.dialect, statement.compiled._result_columns
    statement.results = tuple(
        column.type._cached_result_processor(dialect, attribute.type.oid)
        for column, attribute in zip(columns, prepared.get_attributes(), strict=True)
    )
    return row


def _processed(statement: Statement, row: Any) -> list[Any] | None:
    """``row`` as SQLAlchemy returns it (the result processors of ``statement``'s columns)."""
    if row is None:
        return None
    assert statement.results is not None  # known once the statement ran
    values_out = list(row)
    for i, process in enumerate(statement.results):
        if process is not None and values_out[i] is not None:
            values_out[i] = process(values_out[i])
    return values_out


async def fetch(conn: AsyncConnection, sql: str, args: Sequence[Any]) -> list[Any]:
    """The driver's rows of ``sql`` with ``args`` (already as the driver takes them) in ``conn``'s transaction,
    unprocessed (the caller's plan applies its result processors); a driver error as ``fetchrow`` raises it."""
    adapted = await _adapted(conn)
    try:
        rows: list[Any] = await (await _driver(adapted, conn.dialect)).fetch(sql, *args)
    except Exception as error:
        raise _as_sqlalchemy(conn.engine, adapted, error, sql, args) from None
    return rows


async def commit(conn: AsyncConnection) -> None:
    """COMMIT ``conn``'s transaction on asyncpg directly, when this path serves it and a transaction was begun;
    SQLAlchemy's own COMMIT, which follows, then has nothing left to end at the driver (the adapter forgets the
    transaction, as after its own COMMIT). A write's last statement is the event log's numbering, whose counter
    row every other writer waits for until the COMMIT: this sends the COMMIT as soon as that statement is
    answered, without SQLAlchemy's commit path and its greenlet hop in between. A failed COMMIT is raised as
    SQLAlchemy raises it."""
    sync = conn.sync_connection
    if not serves(conn) or sync is None or sync.invalidated or sync.closed:
        return
    adapted = sync.connection.dbapi_connection
    if adapted is None or adapted._transaction is None:
        return
    try:
        await adapted._call_and_discard(adapted._transaction.commit)
    except Exception as error:
        raise _as_sqlalchemy(conn.engine, adapted, error, "COMMIT", ()) from None


async def driver_connection(conn: AsyncConnection) -> Any:
    """asyncpg's connection under ``conn``, as it is (its transaction not begun here)."""
    return (await _adapted(conn))._connection


async def _adapted(conn: AsyncConnection) -> Any:
    """SQLAlchemy's asyncpg adapter of ``conn`` (its DBAPI connection): straight from the open connection when
    it holds one (``get_raw_connection`` hops through the greenlet bridge for a connection that may need
    re-establishing, which one inside a begun write never does)."""
    sync = conn.sync_connection
    if sync is not None and not sync.invalidated and not sync.closed:
        return sync.connection.dbapi_connection
    return (await conn.get_raw_connection()).dbapi_connection


async def _driver(adapted: Any, dialect: sa.Dialect) -> Any:
    """asyncpg's connection, its transaction begun: by the adapter, as its first statement would have, so that
    SQLAlchemy's COMMIT or ROLLBACK ends it; its prepared statements dropped first if the schema changed since
    (``direct.forget_statements``: a kept statement's plan may no longer fit the table)."""
    await direct.up_to_date(adapted, dialect)
    if adapted._transaction is None:
        await adapted._start_transaction()
    return adapted._connection


def _as_sqlalchemy(engine: AsyncEngine, adapted: Any, error: Exception, sql: str, args: Sequence[Any]) -> Exception:
    """``error`` as SQLAlchemy's execution would have raised it: asyncpg's exception translated by the adapter
    (which keeps it as the cause, where ``db/errors.py`` reads the constraint's column), wrapped in
    ``sa.exc.DBAPIError``'s subclass for it; a lost connection as the 503 the engine's ``handle_error`` gives."""
    dialect = engine.dialect
    dbapi = dialect.loaded_dbapi
    orig: Exception = error
    if not isinstance(error, dbapi.Error) and adapted is not None:
        try:
            adapted._handle_exception(error)
        except Exception as translated_error:
            orig = translated_error
    if not isinstance(orig, dbapi.Error):
        return orig  # not the driver's (a bug, a cancellation's aftermath): as it is
    if isinstance(orig, dbapi.InvalidCachedStatementError):  # what SQLAlchemy's adapter does on its own path:
        direct.forget_statements(engine)  # every connection drops the statements kept for the old schema
    if dialect.is_disconnect(orig, adapted, None):
        from tidepool.seams import translate  # seams imports db.errors, which is below this module

        lost = translate("database statement", error)
        if lost is not None:
            outages_of(engine).note(lost)
            return lost
    hide = engine.sync_engine.hide_parameters
    return sa.exc.DBAPIError.instance(sql, tuple(args), orig, dbapi.Error, hide_parameters=hide, dialect=dialect)
