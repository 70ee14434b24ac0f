"""A create of one item on PostgreSQL is one statement, its own transaction (``services/pg_create.py``).

What the server sends PostgreSQL is seen through asyncpg's own query loggers, added to each connection the
pool hands out while WebSocket creates are answered: per create, one statement that writes (the item, its
history rows and the event log's rows, the counter's move among them) and the reply's read, with no BEGIN
and no COMMIT, so the event log's counter row is never held across a round trip. The events heard by a
subscriber are those of a create, numbered in order, and the stored history names the new key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.realtime.wsclient import WS
from tests.services import articles, clear, items_tables
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import NO_HEARTBEAT, module_server
from tidepool import eventlog
from tidepool.db import system

pytestmark = pytest.mark.timeout(120)

srv = module_server("pg-create", env=NO_HEARTBEAT, seed=items_tables)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    if srv.runtime.engine.dialect.name != "postgresql":
        pytest.skip("a create is one statement on PostgreSQL (asyncpg) only")
    clear(srv)
    with srv.client() as client:
        yield client


def _sent_during_creates(srv: LiveServer, count: int) -> tuple[list[str], list[dict[str, Any]]]:
    """The statements asyncpg ran while ``count`` WebSocket creates were answered (after two to warm the
    statements and the reply's plan up), and the replies."""
    sent: list[str] = []
    watched: list[Any] = []

    def logged(record: Any) -> None:
        sent.append(record.query)

    def checked_out(dbapi_connection: Any, *_: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver not in watched:
            watched.append(driver)
            driver.add_query_logger(logged)

    pool = srv.runtime.engine.sync_engine.pool
    replies = []
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        create = {"type": "items", "collection": "articles", "action": "create", "uid": "n"}
        for _ in range(2):  # the statements prepared, the reply's plan known
            assert ws.request({**create, "data": {"title": "warm-up", "views": 0}}).get("status") != "error"
        sa.event.listen(pool, "checkout", checked_out)
        try:
            for i in range(count):
                reply = ws.request({**create, "data": {"title": f"n{i}", "views": i}})
                assert reply.get("status") != "error", reply
                replies.append(reply["data"])
        finally:
            sa.event.remove(pool, "checkout", checked_out)
    srv.run(asyncio.sleep(0))  # the loggers' calls, scheduled on the server's loop before, have run

    async def unwatch() -> None:
        for driver in watched:
            driver.remove_query_logger(logged)

    srv.run(unwatch())
    return sent, replies


def test_a_create_is_one_statement_and_no_transaction_around_it(srv: LiveServer, admin: httpx.Client) -> None:
    """Fails on a create in a transaction: BEGIN, the INSERT, the history's and the log's statements, COMMIT.
    (Reads of the server's own in the window, such as its watchers', begin and roll back: no COMMIT.)"""
    count = 4
    sent, replies = _sent_during_creates(srv, count)
    words = [query.split(None, 1)[0].rstrip(";").upper() for query in sent]
    assert "COMMIT" not in words and words.count("BEGIN") == words.count("ROLLBACK"), sent
    writes = [query for query in sent if "INSERT INTO" in query]
    assert len(writes) == count, [q[:60] for q in sent]
    assert all(system.event_counters.name in query and system.revisions.name in query for query in writes)
    reads = [query for query in sent if words[sent.index(query)] == "SELECT" and "FROM articles" in query]
    assert len(reads) == count, sent  # the replies' reads
    assert [reply["title"] for reply in replies] == [f"n{i}" for i in range(count)]


def test_a_one_statement_create_records_its_history_and_events(srv: LiveServer, admin: httpx.Client) -> None:
    async def last() -> int:
        async with srv.runtime.engine.connect() as conn:
            return (await eventlog.counters(conn))[eventlog.LAST]

    start = srv.run(last())
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        sub = ws.request({"type": "subscribe", "collection": "articles", "uid": "s"})
        assert sub.get("event") == "init", sub
        ws.send({"type": "items", "collection": "articles", "action": "create", "data": {"title": "t"}, "uid": "c"})
        frames = [ws.recv_until(lambda frame: frame.get("uid") in ("c", "s")) for _ in range(2)]
        reply = next(frame for frame in frames if frame["uid"] == "c")
        heard = next(frame for frame in frames if frame["uid"] == "s")
        key = reply["data"]["id"]
        assert heard["event"] == "create" and [item["id"] for item in heard["data"]] == [key]

    async def logged() -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        async with srv.runtime.engine.connect() as conn:
            events = await eventlog.read_after(conn, start)
            revision = await conn.execute(sa.select(system.revisions).where(system.revisions.c.item == str(key)))
            row = dict(revision.mappings().one())
            activity = await conn.execute(sa.select(system.activity).where(system.activity.c.id == row["activity"]))
            return events, row, dict(activity.mappings().one())

    events, revision, activity = srv.run(logged())
    assert [(e.collection, e.action, e.keys, e.seq) for e in events] == [
        (articles.name, "create", (key,), start + 1),
        (system.activity.name, "create", (activity["id"],), start + 2),
        (system.revisions.name, "create", (revision["id"],), start + 3),
    ]
    assert (activity["action"], activity["collection"], activity["item"]) == ("create", articles.name, str(key))
    assert revision["data"] == revision["delta"] == {"title": "t"}


@pytest.mark.parametrize("mode", ["activity", None], ids=["activity-only", "untracked"])
def test_a_one_statement_create_keeps_what_the_collection_tracks(
    srv: LiveServer, admin: httpx.Client, mode: str | None
) -> None:
    """``accountability: "activity"`` logs the activity row only, ``null`` no history at all (Directus's)."""
    assert admin.patch("/collections/articles", json={"meta": {"accountability": mode}}).status_code == 200
    try:
        start = _last(srv)
        key = admin.post("/items/articles", json={"title": mode or "none"}).json()["data"]["id"]
        events = _events_after(srv, start)
    finally:
        assert admin.patch("/collections/articles", json={"meta": {"accountability": "all"}}).status_code == 200
    expected = [(articles.name, (key,))] + ([(system.activity.name, events[-1].keys)] if mode else [])
    assert [(e.collection, e.keys) for e in events] == expected
    assert [e.seq for e in events] == list(range(start + 1, start + 1 + len(expected)))

    async def revisions() -> int:
        async with srv.runtime.engine.connect() as conn:
            found = await conn.execute(sa.select(sa.func.count()).where(system.revisions.c.item == str(key)))
            return int(found.scalar_one())

    assert srv.run(revisions()) == 0


def _last(srv: LiveServer) -> int:
    async def read() -> int:
        async with srv.runtime.engine.connect() as conn:
            return (await eventlog.counters(conn))[eventlog.LAST]

    return srv.run(read())


def _events_after(srv: LiveServer, seq: int) -> list[Any]:
    async def read() -> list[Any]:
        async with srv.runtime.engine.connect() as conn:
            return await eventlog.read_after(conn, seq, collection=None)

    return [e for e in srv.run(read()) if e.collection != "directus_collections"]
