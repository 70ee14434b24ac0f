"""Run SQL on an aiosqlite connection's own thread in one hand-off, bypassing SQLAlchemy's adapter.

Through SQLAlchemy's aiosqlite adapter each statement costs three or four trips to the driver's thread (cursor,
execute, fetch, close), and each trip waits for a turn of the event loop: while a writer holds the database,
those waits are what limits write throughput (bench/README.md, ``eventlog`` and ``create``). A function run
here gets the ``sqlite3.Connection`` itself, in the same transaction as the SQLAlchemy connection it came from.
``Connection._execute`` (queue a function for the thread) is aiosqlite's own, not public: without it, each
statement is one public aiosqlite call.

Statements that must run before a write's first one but answer nothing (group commit's ``SAVEPOINT``) can be
``defer``-red: they go with the next hand-off on that connection, or, should SQLAlchemy run a statement on it
first, just before that one; a trip saved per write. A deferred item may also be a function of the
``sqlite3.Connection`` (group commit's batch of writes, its writer lock between processes): it runs on the
driver's thread in that same place.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import await_only

T = TypeVar("T")


async def _driver(conn: AsyncConnection) -> Any:
    return (await conn.get_raw_connection()).driver_connection  # aiosqlite's Connection


Deferred = str | Callable[[sqlite3.Connection], object]  # a statement, or a function run on the driver's thread
_DEFERRED: weakref.WeakKeyDictionary[sa.Connection, list[Deferred]] = weakref.WeakKeyDictionary()


def defer(conn: AsyncConnection, statements: Sequence[Deferred]) -> None:
    """Run ``statements`` (no parameters, no rows) before the next statement on ``conn``: in the same hand-off
    when it is ``run`` here, else just before SQLAlchemy's. Replaces what was deferred and never ran."""
    sync = conn.sync_connection
    assert sync is not None
    if not sa.event.contains(sync, "before_execute", _before_execute):
        sa.event.listen(sync, "before_execute", _before_execute)
    _DEFERRED[sync] = list(statements)


def withdraw(conn: AsyncConnection) -> bool:
    """Drop what was deferred on ``conn``; whether anything was still waiting (then no statement ran since)."""
    sync = conn.sync_connection
    return sync is not None and _DEFERRED.pop(sync, None) is not None


def waiting(conn: AsyncConnection) -> bool:
    """Whether something deferred on ``conn`` is still waiting: no statement ran on it since it was deferred."""
    sync = conn.sync_connection
    return sync is not None and sync in _DEFERRED


def _before_execute(sync: sa.Connection, *_: Any) -> None:
    statements = _DEFERRED.pop(sync, None)
    for statement in statements or ():
        if isinstance(statement, str):
            sync.exec_driver_sql(statement)
        else:  # SQLAlchemy runs this listener inside its async bridge, so the thread can be awaited here
            driver: Any = sync.connection.driver_connection
            await_only(driver._execute(statement, driver._conn))


def _run_deferred(db: sqlite3.Connection, deferred: Sequence[Deferred]) -> None:
    for statement in deferred:
        if isinstance(statement, str):
            db.execute(statement)
        else:
            statement(db)


def reachable(conn: AsyncConnection) -> bool:
    """Whether ``run`` can reach ``conn``'s driver thread (checked without a trip: the connection is open)."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return False
    try:
        driver = sync.connection.driver_connection
    except Exception:  # not connected yet: it would take a trip to reconnect
        return False
    return callable(getattr(driver, "_execute", None)) and isinstance(
        getattr(driver, "_conn", None), sqlite3.Connection
    )


async def _thread(conn: AsyncConnection) -> tuple[Any, sqlite3.Connection, list[Deferred]] | None:
    """aiosqlite's "run this on the driver's thread" (its ``_execute``), the ``sqlite3`` connection and the
    work ``defer``-red for it (taken: the caller runs it first); None when aiosqlite's internals are not there."""
    driver = await _driver(conn)
    in_thread = getattr(driver, "_execute", None)
    db = getattr(driver, "_conn", None)
    if in_thread is None or not isinstance(db, sqlite3.Connection):
        return None
    sync = conn.sync_connection
    deferred = _DEFERRED.pop(sync, None) if sync is not None else None
    return in_thread, db, deferred or []


async def run(conn: AsyncConnection, function: Callable[[sqlite3.Connection], T]) -> T | None:
    """``function(db)`` in the driver's thread, after what was ``defer``-red; None (not run) when aiosqlite's
    internals are not there."""
    thread = await _thread(conn)
    if thread is None:
        return None
    in_thread, db, deferred = thread
    if not deferred:
        result: T = await in_thread(function, db)
        return result

    def after_deferred(db: sqlite3.Connection) -> T:
        _run_deferred(db, deferred)
        return function(db)

    later: T = await in_thread(after_deferred, db)
    return later


async def run_to_end(conn: AsyncConnection, function: Callable[[sqlite3.Connection], T]) -> T | None:
    """``run``, for work whose outcome must be known however its caller is cancelled (a group's COMMIT): once
    queued, ``function`` runs on the driver's thread whatever happens to the awaiting task, so a cancellation
    that arrives meanwhile is absorbed (and ``uncancel``-led) until the thread answered, and the answer (or
    ``function``'s error) is returned as if nothing had happened. None when aiosqlite's internals are not there.

    aiosqlite's own future is cancelled with its awaiting task and then drops the thread's answer, so the
    thread answers here on a future of the loop that no task owns (a loop's teardown cancels every task)."""
    thread = await _thread(conn)
    if thread is None:
        return None
    in_thread, db, deferred = thread
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[T] = loop.create_future()

    def whole(db: sqlite3.Connection) -> None:
        try:
            _run_deferred(db, deferred)
            result = function(db)
        except BaseException as exc:
            _answer(loop, answer, None, exc)
            raise
        _answer(loop, answer, result, None)

    cancelled = 0
    try:
        await in_thread(whole, db)
    except asyncio.CancelledError:
        cancelled += 1
    except Exception:
        if not answer.done():  # never queued (the connection is closed): nothing ran
            raise
    while not answer.done():
        try:
            await asyncio.wait({answer})
        except asyncio.CancelledError:
            cancelled += 1
    task = asyncio.current_task()
    if task is not None:
        for _ in range(cancelled):
            task.uncancel()
    return answer.result()


def _answer(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[T], result: T | None, exc: BaseException | None
) -> None:
    """From the driver's thread: settle ``future`` on its loop (a closed loop hears nothing)."""

    def settle() -> None:
        if future.done():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)  # type: ignore[arg-type]  # T, when no error

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed
        pass


async def script(conn: AsyncConnection, statements: Sequence[str]) -> None:
    """Run fixed statements (no parameters, no rows: SAVEPOINT, RELEASE) in one hand-off."""

    def each(db: sqlite3.Connection) -> bool:
        for statement in statements:
            db.execute(statement)
        return True

    if await run(conn, each) is None:
        driver = await _driver(conn)
        for statement in statements:
            await driver.execute(statement)
