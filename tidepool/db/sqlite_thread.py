"""Run SQL on an aiosqlite connection's own thread in one hand-off, bypassing SQLAlchemy's adapter.

Through SQLAlchemy's aiosqlite adapter each statement costs three or four trips to the driver's thread (cursor,
execute, fetch, close), and each trip waits for a turn of the event loop: while a writer holds the database,
those waits are what limits write throughput (bench/README.md, ``eventlog`` and ``create``). A function run
here gets the ``sqlite3.Connection`` itself, in the same transaction as the SQLAlchemy connection it came from.
``Connection._execute`` (queue a function for the thread) is aiosqlite's own, not public: without it, each
statement is one public aiosqlite call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")


async def _driver(conn: AsyncConnection) -> Any:
    return (await conn.get_raw_connection()).driver_connection  # aiosqlite's Connection


async def run(conn: AsyncConnection, function: Callable[[sqlite3.Connection], T]) -> T | None:
    """``function(db)`` in the driver's thread; None (not run) when aiosqlite's internals are not there."""
    driver = await _driver(conn)
    in_thread = getattr(driver, "_execute", None)
    db = getattr(driver, "_conn", None)
    if in_thread is None or not isinstance(db, sqlite3.Connection):
        return None
    result: T = await in_thread(function, db)
    return result


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
