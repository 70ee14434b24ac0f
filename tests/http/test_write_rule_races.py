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

from tests.http.accounts_support import error, make_policy, make_role, make_user, ok
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


def projects(server: LiveServer) -> None:
    """``projects`` (open or closed) and ``messages.project``, an m2o to them: a rule through the relation."""
    with server.client() as admin:
        fields = [
            {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
            {"field": "open", "type": "boolean", "meta": {}, "schema": {}},
        ]
        ok(admin.post("/collections", json={"collection": "projects", "meta": {}, "schema": {}, "fields": fields}))
        ok(admin.post("/fields/messages", json={"field": "project", "type": "integer", "meta": {}, "schema": {}}))
        ok(
            admin.post(
                "/relations", json={"collection": "messages", "field": "project", "related_collection": "projects"}
            )
        )


srv = module_server("write_rule_races", seed=(messages_collection, projects))


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        client.request("DELETE", "/items/messages", json={"query": {"limit": -1}})
        yield client


def _caller(srv: LiveServer, admin: httpx.Client, action: str, rule: dict[str, Any] = OPEN) -> str:
    """A user who may read every message and ``action`` those inside ``rule`` (number 1)."""
    policy = make_policy(
        admin,
        {"collection": "messages", "action": "read", "fields": ["*"], "permissions": {}},
        {"collection": "messages", "action": action, "fields": ["*"], "permissions": rule},
    )
    return make_user(admin, policies=(policy,))[1]


async def _while_row_leaves_rule(
    srv: LiveServer,
    key: Any,
    request: Callable[[], Awaitable[httpx.Response]],
    move: str = "UPDATE messages SET number = 2 WHERE id = :key",
) -> Any:
    """Run ``request`` while another transaction holds row ``key`` moved out of the rule (by ``move``), commit
    that transaction once the server's statement waits for the row, and return the request's response."""
    engine = create_async_engine(database_url(srv.settings))
    try:
        async with engine.connect() as holder, engine.connect() as watcher:
            await holder.execute(sa.text(move), {"key": key})
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


@pytest.mark.parametrize("action", ["update", "delete"])
def test_a_relational_rule_refuses_a_row_moved_to_a_related_item_outside_it(
    srv: LiveServer, admin: httpx.Client, action: str
) -> None:
    """The same through an m2o: the rule reads the related project (``project.open``), and the other
    transaction points the row at a closed project. The row lock taken with the check (``FOR UPDATE OF`` the
    item's table) makes the request wait, and the check runs again on the committed row, its relation
    included: FORBIDDEN, nothing written. (A change of the related row alone, with the item untouched, orders
    the request before it: the item was inside the rule when it was written.)"""
    opened = ok(admin.post("/items/projects", json={"open": True}))["id"]
    closed = ok(admin.post("/items/projects", json={"open": False}))["id"]
    token = _caller(srv, admin, action, {"project": {"open": {"_eq": True}}})
    key = ok(admin.post("/items/messages", json={"text": "before", "project": opened}))["id"]

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            if action == "update":
                return await client.patch(f"/items/messages/{key}", json={"text": "after"})
            return await client.delete(f"/items/messages/{key}")

    move = f"UPDATE messages SET project = {int(closed)} WHERE id = :key"
    error(asyncio.run(_while_row_leaves_rule(srv, key, send, move)), 403, "FORBIDDEN")
    row = ok(admin.get(f"/items/messages/{key}", params={"fields": "text,project"}))
    assert row == {"text": "before", "project": closed}


def test_a_nested_detach_spares_a_row_moved_elsewhere_meanwhile(srv: LiveServer, admin: httpx.Client) -> None:
    """``PATCH /roles/r {"users": [kept]}`` detaches r's other users (``role`` set to null, Directus's
    nullify). A user another transaction is moving to another role meanwhile is not r's any more once that
    commits: the nested write waits for the row and leaves it in its new role. Before, r's users were listed
    unlocked and the detach, keyed by id, overwrote the move: the user ended with no role at all."""
    role, elsewhere = make_role(admin), make_role(admin)
    kept, _ = make_user(admin, role=role)
    moved, _ = make_user(admin, role=role)

    async def detach() -> httpx.Response:
        async with httpx.AsyncClient(base_url=srv.url, timeout=30, headers=admin.headers) as client:
            return await client.patch(f"/roles/{role}", json={"users": [kept]})

    move = f"UPDATE directus_users SET role = '{elsewhere}' WHERE id = :key"
    ok(asyncio.run(_while_row_leaves_rule(srv, moved, detach, move)))
    users = ok(admin.get("/users", params={"filter[id][_in]": f"{kept},{moved}", "fields": "id,role"}))
    assert {user["id"]: user["role"] for user in users} == {kept: role, moved: elsewhere}
