"""Update and delete re-check the caller's item rule against the row as committed when they write.

A second connection (another client of the same database) holds a row in an open transaction that moves
it out of the caller's update/delete rule; the caller's request is sent meanwhile and must wait for that
row, then see the committed change and refuse with FORBIDDEN, writing nothing. Before the fix the rule was
checked with a plain SELECT (which read the old version and passed) and the write, keyed only by the
primary key, then changed the row that had left the rule. The interleaving is made deterministic by
committing only once the server's statement is seen waiting for the row lock.
Runs on PostgreSQL and MariaDB (TIDEPOOL_TEST_DB=pg|mysql); SQLite has no concurrent writer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.support import live
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server
from tidepool.db.engine import database_url

pytestmark = pytest.mark.skipif(
    live.test_db_client() == "sqlite3", reason="needs a second writer: PostgreSQL or MariaDB"
)

OPEN = {"number": {"_eq": 1}}
WAITING = {
    "postgresql": (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    ),
    # MariaDB waits for a single-key row while optimizing ("Statistics"), which innodb_trx does not report
    # as LOCK WAIT: look for the server's locking statement itself (the holder is idle meanwhile)
    "mysql": (
        "SELECT count(*) FROM information_schema.processlist WHERE db = database() AND id <> connection_id()"
        " AND command = 'Query' AND (info LIKE '%FOR UPDATE' OR info LIKE 'UPDATE %' OR info LIKE 'DELETE %')"
    ),
}

srv = module_server("write_rule_races", seed=messages_collection)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        client.request("DELETE", "/items/messages", json={"query": {"limit": -1}})
        yield client


def _caller(srv: LiveServer, admin: httpx.Client, action: str) -> str:
    """A user who may read every message and ``action`` those whose number is 1."""
    policy = make_policy(
        admin,
        {"collection": "messages", "action": "read", "fields": ["*"], "permissions": {}},
        {"collection": "messages", "action": action, "fields": ["*"], "permissions": OPEN},
    )
    return make_user(admin, policies=(policy,))[1]


async def _while_row_leaves_rule(srv: LiveServer, key: int, request: Callable[[], Awaitable[httpx.Response]]) -> Any:
    """Run ``request`` while another transaction holds row ``key`` moved out of the rule, commit that
    transaction once the server's statement waits for the row, and return the request's response."""
    engine = create_async_engine(database_url(srv.settings))
    try:
        async with engine.connect() as holder, engine.connect() as watcher:
            await holder.execute(sa.text("UPDATE messages SET number = 2 WHERE id = :key"), {"key": key})
            task = asyncio.ensure_future(request())
            await _until_waiting(watcher, task)
            await holder.commit()
            return await task
    finally:
        await engine.dispose()


async def _until_waiting(watcher: AsyncConnection, task: asyncio.Future[Any]) -> None:
    query = sa.text(WAITING[watcher.dialect.name])
    deadline = time.monotonic() + 20
    while not task.done() and time.monotonic() < deadline:
        if (await watcher.execute(query)).scalar_one() > 0:
            return
        await watcher.rollback()  # a fresh snapshot for the next look
        await asyncio.sleep(0.02)
    # the request finished without waiting (or never waited): the holder commits now and the test
    # then judges what was written


def test_update_refuses_a_row_moved_out_of_the_rule_meanwhile(srv: LiveServer, admin: httpx.Client) -> None:
    token = _caller(srv, admin, "update")
    key = ok(admin.post("/items/messages", json={"text": "before", "number": 1}))["id"]

    async def patch() -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            return await client.patch(f"/items/messages/{key}", json={"text": "after"})

    response = asyncio.run(_while_row_leaves_rule(srv, key, patch))
    error(response, 403, "FORBIDDEN")
    assert ok(admin.get(f"/items/messages/{key}", params={"fields": "text,number"})) == {"text": "before", "number": 2}


def test_delete_refuses_a_row_moved_out_of_the_rule_meanwhile(srv: LiveServer, admin: httpx.Client) -> None:
    token = _caller(srv, admin, "delete")
    kept = ok(admin.post("/items/messages", json={"text": "kept", "number": 1}))["id"]
    key = ok(admin.post("/items/messages", json={"text": "moved", "number": 1}))["id"]

    async def delete() -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            return await client.request("DELETE", "/items/messages", json=[kept, key])

    response = asyncio.run(_while_row_leaves_rule(srv, key, delete))
    error(response, 403, "FORBIDDEN")
    rows = ok(admin.get("/items/messages", params={"fields": "id,number", "sort": "id"}))
    assert rows == [{"id": kept, "number": 1}, {"id": key, "number": 2}]  # all or nothing: both still there
