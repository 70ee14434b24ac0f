"""INSERTs on SQLite in one hand-off to aiosqlite's thread, compiled once and bound exactly as SQLAlchemy binds.

Through SQLAlchemy's aiosqlite adapter one INSERT costs three or four trips to the driver's thread (cursor,
execute, fetch, close), each waiting for a turn of the event loop while the write holds the database, plus
the statement's construction and its cache key in Python (bench/README.md, ``create``). Here an INSERT of a
given table and column set is compiled once, by SQLAlchemy, for the engine's dialect; each row's values go
through the column types' own bind processors (``db/binding.py``), so what is stored is what SQLAlchemy would
have stored. The history rows (``services/history.py``) and an item's create
(``services/items.py``, with the reply's read in the same hand-off) run this way.

A statement SQLAlchemy would add values to (a column with a Python-side default the row does not set) or
render with anything but positional parameters is refused (``insertable``), and the caller takes the
portable path. A driver error is raised as SQLAlchemy would raise it (``sa.exc.DBAPIError`` around the
driver's exception, a lost connection as the ``database statement`` seam's error), so the caller's
``translated("database write")`` maps a broken constraint to the same Directus error as before.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidepool.db import sqlite_thread
from tidepool.db.binding import Bound
from tidepool.db.errors import outages_of
from tidepool.seams import translate

T = TypeVar("T")


@functools.lru_cache(maxsize=256)
def compiled_insert(table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect) -> Bound:
    """The INSERT of ``keys`` into ``table``, compiled once per dialect (an engine's dialect lives as long),
    with its parameters' binding (``db/binding.py``)."""
    return Bound.of(sa.insert(table).compile(dialect=dialect, column_keys=list(keys)))


def insertable(insert: Bound, keys: Sequence[str]) -> bool:
    """Whether ``insert`` takes exactly ``keys`` as positional parameters (nothing SQLAlchemy fills in)."""
    order = insert.positions
    return order is not None and len(order) == len(keys) and set(order) == set(keys)


def as_sqlalchemy_error(conn: AsyncConnection, exc: sqlite3.Error, sql: str, params: Any) -> Exception:
    """The exception SQLAlchemy would have raised for ``exc``: a lost connection as the ``database statement``
    seam's error (``db/engine.py``'s ``handle_error``), anything else as its ``DBAPIError`` subclass."""
    error: Any = exc  # the adapter's ``dbapi`` errors are sqlite3's own classes
    if conn.dialect.is_disconnect(error, None, None):
        lost = translate("database statement", exc)
        if lost is not None:
            outages_of(conn.engine).note(lost)
            return lost
    return sa.exc.DBAPIError.instance(sql, params, exc, sqlite3.Error)


@dataclass(frozen=True)
class OneInsert:
    """One row's INSERT, compiled and bound, to be run on the driver's thread (``prepare_one``): calling it
    inserts the row and answers its key (``given``, or the row id SQLite chose)."""

    sql: str
    params: tuple[Any, ...]
    given: Any

    def __call__(self, db: sqlite3.Connection) -> Any:
        rowid = db.execute(self.sql, self.params).lastrowid
        return rowid if self.given is None else self.given

    def error(self, conn: AsyncConnection, exc: sqlite3.Error) -> Exception:
        """``exc``, raised by this INSERT, as SQLAlchemy would have raised it (``as_sqlalchemy_error``)."""
        return as_sqlalchemy_error(conn, exc, self.sql, self.params)


def prepare_one(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any], key_column: str) -> OneInsert | None:
    """The INSERT of one row of ``values`` into ``table``, whose key is ``values[key_column]`` or the row id;
    None when the statement cannot be sent this way (``insertable``, an SQL expression as a value) or the key
    would not be the row id: take the portable path."""
    keys = tuple(values)
    insert = compiled_insert(table, keys, conn.dialect)
    given = values.get(key_column)
    if not insertable(insert, keys) or (given is None and not getattr(insert.compiled, "postfetch_lastrowid", False)):
        return None
    if any(isinstance(value, sa.ClauseElement) for value in values.values()):
        return None  # an SQL expression as a value: SQLAlchemy renders it into the statement
    [params] = insert.rows([values])
    return OneInsert(insert.sql, tuple(params), given)


async def insert_one(
    conn: AsyncConnection,
    table: sa.Table,
    values: Mapping[str, Any],
    key_column: str,
    then: Callable[[sqlite3.Connection, Any], T] | None = None,
) -> tuple[Any, T | None] | None:
    """Insert one row of ``values`` into ``table`` and answer ``(key, then(db, key))``, both in one hand-off
    (``prepare_one``). ``then`` runs right after the INSERT on the same connection (in the write's transaction)
    and must not raise. None when nothing was written: take the portable path."""
    insert = prepare_one(conn, table, values, key_column)
    if insert is None:
        return None

    def run(db: sqlite3.Connection) -> tuple[Any, T | None]:
        key = insert(db)
        return key, then(db, key) if then is not None else None

    try:
        return await sqlite_thread.run(conn, run)
    except sqlite3.Error as exc:
        raise insert.error(conn, exc) from exc
