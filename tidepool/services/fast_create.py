"""A create's INSERT and its reply's read in one hand-off to the database, where the database allows it.

A create used to be answered by a second read after its commit (``read_one`` on another pooled connection:
a checkout, the SELECT, the return). When the reply's read is one prepared statement (``reader.KeyedRead``:
no relations, no aggregate), it is run instead right after the INSERT, on the write's own connection and in
its transaction: the row as this write left it, through the same plan (the caller's permissions: a field
it may not read is not in the plan, a row it may not read is not returned) and the same serialization as
``read_one``. It is answered only once the transaction committed (``ItemsService.create_and_read``).

On SQLite the INSERT itself goes to aiosqlite's thread in one hand-off (``db.sqlite_writes``), and the read with
it; when nothing follows the create in its transaction (``ItemsService.create_and_read``), both wait for the
write's last hand-off, with its history rows and event log (``Pending``, ``services/sqlite_finish.py``), or for its
group's batch (``services/group_commit.py``). On PostgreSQL the read follows the INSERT on asyncpg
(``db.pg_writes``; a create of one item in its own statement: ``services/pg_create.py``), one more round trip on
the same connection, but only when it cannot fail (``pg_reply.cannot_fail``): a statement that fails inside a
PostgreSQL transaction aborts it, and the write with it. MySQL reads back as before. Whatever cannot take
this path (a subclass's own create, a read with relations, a table with Python-side defaults, a read that
failed in the driver) takes the old one: same answers, more round trips.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncConnection

from tidepool.db import pg_writes, sqlite_thread, sqlite_writes
from tidepool.db.schema import CollectionInfo
from tidepool.query.model import Query
from tidepool.query.relations import Item
from tidepool.seams import translated
from tidepool.services import pg_reply, reader
from tidepool.services.base import ServiceContext, TxContext


@dataclass
class Reply:
    """A create's reply, read in its transaction: ``items`` is None until (and unless) it was read."""

    read: reader.KeyedRead
    items: list[Item] | None = field(default=None)


def applies(ctx: ServiceContext) -> bool:
    """Whether creates on ``ctx``'s database take the SQLite hand-off (``insert``)."""
    return ctx.dialect == "sqlite"


async def reply_for(ctx: ServiceContext, collection: str, query: Query) -> Reply | None:
    """The reply's read for a create in ``collection`` answered with ``query``, planned before the write; None
    when it cannot be read with the INSERT (then the caller reads back after the commit, as before)."""
    postgresql = ctx.dialect == "postgresql"
    if not applies(ctx) and not postgresql:
        return None
    try:
        read = await reader.keyed_read(ctx, collection, query)
    except Exception:  # the read refuses (a field not readable...): the read-back after the commit says so
        return None
    if read is None or (postgresql and not pg_reply.cannot_fail(read)):
        return None
    return Reply(read)


def _reading(reply: Reply | None) -> Callable[[sqlite3.Connection, Any], list[Any] | None]:
    """What reads ``reply`` on the driver's thread right after the INSERT: its rows, or None when it was not
    read (then the read-back after the commit runs instead)."""
    read = reply.read if reply is not None else None

    def then(db: sqlite3.Connection, key: Any) -> list[Any] | None:
        if read is None:
            return None
        statement = read.statement(key)
        if statement is None:
            return []
        try:
            return db.execute(*statement).fetchall()
        except sqlite3.Error:  # not the write's failure: the read-back after the commit runs instead
            return None

    return then


def _answer(reply: Reply | None, rows: list[Any] | None) -> None:
    if reply is not None and rows is not None:
        reply.items = reply.read.items(rows)


async def insert(
    tx: TxContext, info: CollectionInfo, values: Mapping[str, Any], reply: Reply | None
) -> tuple[Any] | None:
    """Insert ``values`` (bindable) into ``info``'s table on SQLite in one hand-off, and read ``reply`` in it;
    ``(key,)``, or None when nothing was written (another engine, or a statement this path does not send)."""
    if not applies(tx):
        return None
    done = await sqlite_writes.insert_one(tx.conn, info.table, values, info.primary_key, _reading(reply))
    if done is None:
        return None
    key, rows = done
    _answer(reply, rows)
    return (key,)


async def read_in_postgresql(tx: TxContext, reply: Reply, key: Any) -> None:
    """Read ``reply`` for the row ``key`` that ``db.pg_writes.insert`` just wrote on ``tx``'s connection, in its
    transaction (``reply_for`` took only a read that cannot fail there). A driver error (a lost connection) is
    raised as the write's: the transaction is lost with it, so the write is reported failed, never committed."""
    statement = reply.read.statement(key)
    reply.items = [] if statement is None else reply.read.items(await pg_writes.fetch(tx.conn, *statement))


@dataclass(eq=False)
class Pending:
    """A create whose INSERT (and its reply's read) waits for the write's last hand-off to the driver's thread,
    where the history rows and the event log go too (``services/sqlite_finish.py``): one trip per create.

    Until then it stands for the key in the write's event and history entry (``str`` of it is ``token``, so
    the history rows carry it where the key's text goes); ``key`` is set once the row is inserted."""

    insert: sqlite_writes.OneInsert
    reply: Reply | None
    translated: Callable[[], translated]  # where the INSERT's errors become Directus's
    key: Any = None
    token: str = field(init=False)

    def __post_init__(self) -> None:
        self.token = f"\x00tidepool-pending-{id(self)}"

    def __str__(self) -> str:
        return self.token

    def run(self, db: sqlite3.Connection) -> tuple[Any, list[Any] | None]:
        """On the driver's thread: the INSERT, then the reply's read; ``(key, rows)``."""
        key = self.insert(db)
        return key, _reading(self.reply)(db, key)

    def done(self, key: Any, rows: list[Any] | None) -> None:
        """On the loop, once ``run`` ran: the key, and the reply's items."""
        self.key = key
        _answer(self.reply, rows)

    def failed(self, conn: AsyncConnection, exc: sqlite3.Error) -> NoReturn:
        """Raise the INSERT's error as ``ItemsService`` raises a write's: a broken constraint as Directus's."""
        with self.translated():
            raise self.insert.error(conn, exc) from exc


def pending(
    tx: TxContext,
    info: CollectionInfo,
    values: Mapping[str, Any],
    reply: Reply | None,
    translated: Callable[[], translated],
) -> Pending | None:
    """``insert``, left for the write's last hand-off; None when this path does not send the statement (then
    ``insert`` or the portable path runs now)."""
    if not applies(tx) or not sqlite_thread.reachable(tx.conn):
        return None
    one = sqlite_writes.prepare_one(tx.conn, info.table, values, info.primary_key)
    return None if one is None else Pending(one, reply, translated)
