"""The create ceiling: a bare WebSocket endpoint that does what an ``items`` create must, and nothing else.

Starlette + uvicorn (websockets-sansio, no compression, no pings), like Tidepool. Each text frame is parsed
with orjson; a ``{"type":"items","action":"create","data":{...},"uid":...}`` frame inserts the row into
``messages`` and reads it back in one transaction with the driver directly, and the row is answered as
``{"type":"items","data":{...},"uid":...}``. No auth, no permissions, no history, no event log, no events:
the least a create can cost on this stack and database, so Tidepool's creates are reported as a ratio to it.

- SQLite (``sqlite:<file>``): Python's ``sqlite3`` in one thread of its own (one connection, WAL,
  ``synchronous=NORMAL``, as Tidepool's engine sets it), each create one ``BEGIN ... COMMIT`` in one hand-off;
- PostgreSQL (``postgres:<dsn>``): an asyncpg pool of 16 connections, each create ``INSERT`` then ``SELECT``
  in one transaction.

``python -m bench.create_ceiling PORT sqlite:/tmp/x.db`` or ``... PORT postgres:postgresql://...``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

Row = dict[str, Any]
Create = Callable[[str | None, str | None], Awaitable[Row]]

SQLITE_TABLE = (
    "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, date_created DATETIME, "
    "text VARCHAR(255), user VARCHAR(255))"
)
PG_TABLE = (
    "CREATE TABLE IF NOT EXISTS messages (id SERIAL PRIMARY KEY, date_created TIMESTAMPTZ, "
    'text VARCHAR(255), "user" VARCHAR(255))'
)


def sqlite_creator(path: str) -> Create:
    """Creates run in one thread of their own, one transaction each (insert, read back, commit)."""
    pool = ThreadPoolExecutor(1)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        db.execute(f"PRAGMA {pragma}")
    db.execute(SQLITE_TABLE)

    def create(text: str | None, user: str | None) -> Row:
        now = dt.datetime.now(dt.UTC).isoformat()
        db.execute("BEGIN IMMEDIATE")
        try:
            cursor = db.execute("INSERT INTO messages (date_created, text, user) VALUES (?, ?, ?)", (now, text, user))
            row = db.execute(
                "SELECT id, date_created, text, user FROM messages WHERE id = ?", (cursor.lastrowid,)
            ).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return {"id": row[0], "date_created": row[1], "text": row[2], "user": row[3]}

    async def run(text: str | None, user: str | None) -> Row:
        return await asyncio.get_running_loop().run_in_executor(pool, create, text, user)

    return run


async def postgres_creator(dsn: str) -> Create:
    import asyncpg  # type: ignore[import-untyped]

    pool = await asyncpg.create_pool(dsn, min_size=16, max_size=16)
    async with pool.acquire() as conn:
        await conn.execute(PG_TABLE)

    async def run(text: str | None, user: str | None) -> Row:
        async with pool.acquire() as conn, conn.transaction():
            key = await conn.fetchval(
                'INSERT INTO messages (date_created, text, "user") VALUES ($1, $2, $3) RETURNING id',
                dt.datetime.now(dt.UTC),
                text,
                user,
            )
            row = await conn.fetchrow('SELECT id, date_created, text, "user" FROM messages WHERE id = $1', key)
        return {"id": row[0], "date_created": row[1].isoformat(), "text": row[2], "user": row[3]}

    return run


def app_for(target: str) -> Starlette:
    kind, _, where = target.partition(":")
    creator: dict[str, Create] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        creator["run"] = sqlite_creator(where) if kind == "sqlite" else await postgres_creator(where)
        yield

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        create = creator["run"]
        try:
            while True:
                message = orjson.loads(await websocket.receive_text())
                if message.get("type") != "items" or message.get("action") != "create":
                    await websocket.send_text('{"type":"auth","status":"ok"}')
                    continue
                data = message.get("data") or {}
                row = await create(data.get("text"), data.get("user"))
                reply = {"type": "items", "data": row, "uid": message.get("uid")}
                await websocket.send_text(orjson.dumps(reply).decode())
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/websocket", endpoint)], lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(
        app_for(sys.argv[2]),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        log_level="warning",
    )
