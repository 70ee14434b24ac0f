"""A create's INSERT and its reply's read in one hand-off to the database, where the database allows it.

A create used to be answered by a second read after its commit (``read_one`` on another pooled connection:
a checkout, the SELECT, the return). When the reply's read is one prepared statement (``reader.KeyedRead``:
no relations, no aggregate), it is run instead right after the INSERT, on the write's own connection and in
its transaction: the row as this write left it, through the same plan (the caller's permissions: a field
it may not read is not in the plan, a row it may not read is not returned) and the same serialization as
``read_one``. It is answered only once the transaction committed (``ItemsService.create_and_read``).

On SQLite the INSERT itself goes to aiosqlite's thread in one hand-off (``db.sqlite_writes``), and the read
with it. On PostgreSQL the read follows the INSERT on asyncpg (``db.pg_writes``), one more round trip on the
same connection, but only when it cannot fail (``_cannot_fail``): a statement that fails inside a PostgreSQL
transaction aborts it, and the write with it. MySQL reads back as before.
Whatever cannot take this path (a subclass's own create, a read with relations, a table with Python-side
defaults, a read that failed in the driver) takes the old one: same answers, more round trips.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tidepool.db import pg_writes, sqlite_writes
from tidepool.db.schema import CollectionInfo
from tidepool.query.model import Query
from tidepool.query.relations import Item
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


async def insert(
    tx: TxContext, info: CollectionInfo, values: Mapping[str, Any], reply: Reply | None
) -> tuple[Any] | None:
    """Insert ``values`` (bindable) into ``info``'s table on SQLite in one hand-off, and read ``reply`` in it;
    ``(key,)``, or None when nothing was written (another engine, or a statement this path does not send)."""
    if not applies(tx):
        return None
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

    done = await sqlite_writes.insert_one(tx.conn, info.table, values, info.primary_key, then)
    if done is None:
        return None
    key, rows = done
    if reply is not None and rows is not None:
        reply.items = reply.read.items(rows)
    return (key,)


async def read_in_postgresql(tx: TxContext, reply: Reply, key: Any) -> None:
    """Read ``reply`` for the row ``key`` that ``db.pg_writes.insert`` just wrote on ``tx``'s connection, in its
    transaction (``reply_for`` took only a read that cannot fail there). A driver error (a lost connection) is
    raised as the write's: the transaction is lost with it, so the write is reported failed, never committed."""
    statement = reply.read.statement(key)
    reply.items = [] if statement is None else reply.read.items(await pg_writes.fetch(tx.conn, *statement))
