"""The event log: every committed change, numbered in commit order, kept in the database itself.

A write's ``ChangeEvent``s are appended to ``tidepool_events`` **inside the write's own transaction**, as its
last statement (``append``), so they commit or roll back with the data: no committed write can lose its
event to a crash, a SIGTERM, a Redis outage or a full queue. Everything downstream (the in-process fast
path, Redis, other processes polling) only carries the news; the log is the truth a subscriber resumes from.

**Numbering.** ``append`` moves the ``last`` counter row by the number of events (``UPDATE ... SET value =
value + n``) and numbers the events from the new value. That UPDATE takes the counter row's lock, which is
held until the transaction ends, so two writers number one after the other, and the second one can only
take the lock (and read the counter) after the first has committed. Hence:

- numbers follow commit order: if transaction B began after A committed, B's numbers are higher, and more
  strongly, of any two numbered transactions the one numbered first also committed first;
- the committed numbers are always a gap-free prefix ``1..last``: a reader that sees ``n`` committed sees
  every number below it (the one holding ``n - 1`` committed before ``n`` could be given out); a rolled-back
  transaction takes its counter move back with it, so nothing visible is ever numbered twice;
- numbers only grow, across restarts of every process and of Redis: the counter is a database row.

The lock is held from the UPDATE to the commit only (the append is the write's last statement), so writers
serialise on numbering and committing, not on their work. SQLite has a single writer anyway. To keep that
section short, the bodies are encoded before the UPDATE and the statements after it are as few as the
dialect allows: on PostgreSQL one (the UPDATE ... RETURNING and the INSERT in one ``WITH``), on SQLite two
(UPDATE ... RETURNING, INSERT, in one trip to aiosqlite's thread), on MariaDB three (UPDATE, SELECT,
INSERT). See bench/README.md (``eventlog``)
for what they cost.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidepool import chunked
from tidepool.db import pg_writes, sqlite_thread, system
from tidepool.events import ChangeEvent

LAST = "last"  # the highest number given out
PRUNED = "pruned"  # every number at or below it may have been removed by retention

_log = system.event_log
_counters = system.event_counters

# Values a database row may hold that JSON has no type for: stored in their usual text form.
_JSON_FALLBACKS: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (decimal.Decimal, str),
    (bytes, lambda b: base64.b64encode(b).decode()),
    (dt.timedelta, lambda d: d.total_seconds()),
    (frozenset, list),
    (set, list),
    (tuple, list),
    (uuid.UUID, str),
)


def _json_default(value: Any) -> Any:
    for kind, convert in _JSON_FALLBACKS:
        if isinstance(value, kind):
            return convert(value)
    return str(value)


def encode_body(event: ChangeEvent) -> bytes:
    """What a subscriber must learn about a change besides its collection and action (the write's payload
    is not kept: nothing downstream reads it, and it may be large)."""
    body = {"keys": list(event.keys), "before": list(event.before), "origin": event.origin, "extra": event.extra}
    return orjson.dumps(body, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def decode_event(seq: int, collection: str, action: str, body: bytes | str) -> ChangeEvent:
    data: Mapping[str, Any] = orjson.loads(body)
    return ChangeEvent(
        collection=collection,
        action=action,  # type: ignore[arg-type]  # written by ``append`` from an EventAction
        keys=tuple(data["keys"]),
        before=tuple(data["before"]),
        seq=seq,
        origin=data.get("origin"),
        extra=data.get("extra") or {},
    )


async def append(conn: AsyncConnection, events: Sequence[ChangeEvent], origin: str | None) -> list[ChangeEvent]:
    """Number ``events`` (consecutively, in order) and add them to the log; the last statement of a write.
    Returns the numbered events (``seq`` and ``origin`` set).

    Everything that does not need the number (each event's body) is encoded before the counter is moved:
    from that UPDATE to the commit, every other writer waits for this one. A large batch's events are
    encoded and numbered a chunk at a time (``tidepool.chunked``), the event loop let in between."""
    pairs = await chunked.build(events, lambda part: list(zip(*stamp(part, origin), strict=True)))
    stamped, rows = [event for event, _ in pairs], [row for _, row in pairs]
    log_rows = _LOGGERS.get(conn.dialect.name, _log_portably)
    last = await log_rows(conn, rows, int(time.time() * 1000))
    first = last - len(stamped) + 1
    return await chunked.build(range(len(stamped)), lambda part: [replace(stamped[i], seq=first + i) for i in part])


def append_in_sqlite_thread(
    db: sqlite3.Connection, events: Sequence[ChangeEvent], origin: str | None
) -> list[ChangeEvent]:
    """``append`` on SQLite, by a caller already on aiosqlite's thread (the history rows' hand-off,
    ``services/sqlite_finish.py``): the same statements and numbering, no trip of its own."""
    if not events:
        return []
    stamped, rows = stamp(events, origin)
    return number(stamped, _log_sqlite_in_thread(db, rows, int(time.time() * 1000)))


def stamp(events: Sequence[ChangeEvent], origin: str | None) -> tuple[list[ChangeEvent], list[dict[str, Any]]]:
    """``events`` with ``origin`` where they have none, and their rows for the log (bodies encoded)."""
    stamped = [replace(e, origin=e.origin or origin) for e in events]
    rows = [{"collection": e.collection, "action": e.action, "body": encode_body(e).decode()} for e in stamped]
    return stamped, rows


def number(stamped: list[ChangeEvent], last: int) -> list[ChangeEvent]:
    """``stamped`` numbered consecutively up to ``last``, the counter's new value."""
    first = last - len(stamped) + 1
    return [replace(e, seq=first + i) for i, e in enumerate(stamped)]


_BUMP = (
    sa.update(_counters)
    .where(_counters.c.name == LAST)
    .values(value=_counters.c.value + sa.bindparam("count", type_=sa.BigInteger))
)
_BUMP_RETURNING = _BUMP.returning(_counters.c.value)
_READ_LAST = sa.select(_counters.c.value).where(_counters.c.name == LAST)
_INSERT = sa.insert(_log)

# PostgreSQL: the counter's move and the rows in one statement, so a writer holds the counter's lock for one
# round trip and the commit (a data-modifying WITH runs once and to completion even if nothing reads it).
_PG_LOG = (
    f"WITH bump AS (UPDATE {_counters.name} SET value = value + CAST($1 AS BIGINT) WHERE name = $2 "
    "RETURNING value), "
    f"logged AS (INSERT INTO {_log.name} (seq, collection, action, body, created_at) "
    "SELECT bump.value - CAST($1 AS BIGINT) + e.n, e.collection, e.action, e.body, CAST($3 AS BIGINT) "
    "FROM bump, unnest(CAST($4 AS TEXT[]), CAST($5 AS TEXT[]), CAST($6 AS TEXT[])) "
    "WITH ORDINALITY AS e(collection, action, body, n)) "
    "SELECT value FROM bump"
)


async def _log_portably(conn: AsyncConnection, rows: list[dict[str, Any]], now: int) -> int:
    """Move the counter (reading it back in the same statement where the dialect has UPDATE ... RETURNING:
    SQLite; MariaDB needs a SELECT), then insert the numbered rows; the new counter value."""
    count = len(rows)
    if conn.dialect.update_returning:
        last = int((await conn.execute(_BUMP_RETURNING, {"count": count})).scalar_one())
    else:
        await conn.execute(_BUMP, {"count": count})
        last = int((await conn.execute(_READ_LAST)).scalar_one())
    first = last - count + 1
    for start in range(0, count, chunked.CHUNK):  # a chunk per statement: each binds its rows in one step
        part = rows[start : start + chunked.CHUNK]
        await conn.execute(_INSERT, [row | {"seq": first + start + i, "created_at": now} for i, row in enumerate(part)])
    return last


async def _log_postgresql(conn: AsyncConnection, rows: list[dict[str, Any]], now: int) -> int:
    """``_PG_LOG``, sent to asyncpg directly once SQLAlchemy has begun the transaction on it (it begins
    lazily, at the first statement): that skips SQLAlchemy's execution path, about a third of the CPU the log
    costs a create (bench/README.md, ``eventlog``)."""
    args = (
        len(rows),
        LAST,
        now,
        [row["collection"] for row in rows],
        [row["action"] for row in rows],
        [row["body"] for row in rows],
    )
    driver: Any = await pg_writes.driver_connection(conn)  # asyncpg's, without a hop through the greenlet bridge
    if driver.is_in_transaction():
        return int(await driver.fetchval(_PG_LOG, *args))
    return int((await conn.exec_driver_sql(_PG_LOG, args)).scalar_one())


# SQLite: the same two statements as ``_log_portably``, run together in aiosqlite's thread. Through
# SQLAlchemy's adapter each statement costs three or four trips to that thread (cursor, execute, fetch, close),
# and each trip waits for a turn of the event loop while this write holds the write gate: with 16 writers that
# wait made the log cost 40 % of create throughput (bench/README.md, ``eventlog``). ``tidepool.db.sqlite_thread``
# makes the hand-off (through aiosqlite's private ``_execute``); without it, one public call per statement.
_SQLITE_BUMP = f"UPDATE {_counters.name} SET value = value + ? WHERE name = ? RETURNING value"
_SQLITE_INSERT = f"INSERT INTO {_log.name} (seq, collection, action, body, created_at) VALUES (?, ?, ?, ?, ?)"


# Each process's follower reads the others' events with this once per hole in what it knows (with two workers,
# about once per own commit: their numbers interleave). Through SQLAlchemy's adapter that read cost four trips
# to aiosqlite's thread and the statement's compilation; here it is one trip (bench/README.md, "Workers").
_SQLITE_READ = f"SELECT seq, collection, action, body FROM {_log.name} WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
_NO_END = 2**63 - 1  # SQLite's largest integer: no upper bound


def _sqlite_rows(last: int, rows: list[dict[str, Any]], now: int) -> list[tuple[Any, ...]]:
    first = last - len(rows) + 1
    return [(first + i, row["collection"], row["action"], row["body"], now) for i, row in enumerate(rows)]


def _log_sqlite_in_thread(db: sqlite3.Connection, rows: list[dict[str, Any]], now: int) -> int:
    [(last,)] = db.execute(_SQLITE_BUMP, (len(rows), LAST)).fetchall()
    db.executemany(_SQLITE_INSERT, _sqlite_rows(int(last), rows, now))
    return int(last)


async def _log_sqlite(conn: AsyncConnection, rows: list[dict[str, Any]], now: int) -> int:
    last_in_thread = await sqlite_thread.run(conn, lambda db: _log_sqlite_in_thread(db, rows, now))
    if last_in_thread is not None:
        return last_in_thread
    driver: Any = (await conn.get_raw_connection()).driver_connection  # aiosqlite's, in the same transaction
    [(last,)] = await driver.execute_fetchall(_SQLITE_BUMP, (len(rows), LAST))
    await driver.executemany(_SQLITE_INSERT, _sqlite_rows(int(last), rows, now))
    return int(last)


_LOGGERS: dict[str, Callable[[AsyncConnection, list[dict[str, Any]], int], Awaitable[int]]] = {
    "postgresql": _log_postgresql,
    "sqlite": _log_sqlite,
}


async def read_after(
    conn: AsyncConnection,
    after: int,
    *,
    upto: int | None = None,
    collection: str | None = None,
    limit: int = 500,
) -> list[ChangeEvent]:
    """Logged events numbered above ``after`` (and at most ``upto``), oldest first, at most ``limit``."""
    rows: Sequence[Any] | None = None
    if conn.dialect.name == "sqlite" and collection is None:  # the followers' read (bus/log.py): one trip
        bounds = (after, upto if upto is not None else _NO_END, limit)
        rows = await sqlite_thread.run(conn, lambda db: db.execute(_SQLITE_READ, bounds).fetchall())
    if rows is None:
        query = sa.select(_log.c.seq, _log.c.collection, _log.c.action, _log.c.body).where(_log.c.seq > after)
        if upto is not None:
            query = query.where(_log.c.seq <= upto)
        if collection is not None:
            query = query.where(_log.c.collection == collection)
        rows = (await conn.execute(query.order_by(_log.c.seq).limit(limit))).all()
    return [decode_event(int(seq), name, action, body) for seq, name, action, body in rows]


async def dropped(conn: AsyncConnection, collection: str, after: int, upto: int) -> bool:
    """Whether ``collection`` was deleted by an event numbered above ``after`` and at most ``upto`` (its
    ``directus_collections`` delete is keyed by the name): the rows a client resuming from ``after`` holds are
    of a collection that is gone, so no replay can bring it to the one that bears the name now."""
    c = _log.c
    query = sa.select(c.seq, c.collection, c.action, c.body).where(
        c.seq > after, c.seq <= upto, c.collection == "directus_collections", c.action == "delete"
    )
    rows = (await conn.execute(query)).all()
    return any(collection in decode_event(int(seq), name, action, body).keys for seq, name, action, body in rows)


async def counters(conn: AsyncConnection) -> dict[str, int]:
    """``{"last": ..., "pruned": ...}`` as committed now."""
    rows = await conn.execute(sa.select(_counters.c.name, _counters.c.value))
    return {str(name): int(value) for name, value in rows}


async def prune(conn: AsyncConnection, keep_count: int, keep_seconds: float) -> int:
    """Apply retention inside the caller's transaction: keep at most ``keep_count`` of the newest events and
    none older than ``keep_seconds`` (0 turns either bound off). Moves ``pruned`` first, so a reader that checks
    it after reading knows whether what it read was complete. Returns the new ``pruned`` value."""
    marks = await counters(conn)
    through = marks[LAST] - keep_count if keep_count > 0 else 0
    if keep_seconds > 0:
        through = max(through, await _older_than(conn, time.time() - keep_seconds, marks[PRUNED], marks[LAST]))
    if through <= marks[PRUNED]:
        return marks[PRUNED]
    moved = _counters.c.name == PRUNED
    await conn.execute(sa.update(_counters).where(moved, _counters.c.value < through).values(value=through))
    await conn.execute(sa.delete(_log).where(_log.c.seq <= through))
    return through


async def _older_than(conn: AsyncConnection, cutoff: float, pruned: int, last: int) -> int:
    """The number below which every event was logged before ``cutoff``: the log is walked in ``seq`` order
    from its start to the first younger event (numbers follow commit order, so ages follow numbers up to
    the writers' clock skew), which costs the expired rows only, with no index on ``created_at``."""
    first_young = sa.select(_log.c.seq).where(_log.c.seq > pruned, _log.c.created_at >= int(cutoff * 1000))
    found = (await conn.execute(first_young.order_by(_log.c.seq).limit(1))).scalar()
    return last if found is None else int(found) - 1
