"""Writes by query (and by key list) and ``_in`` filters over more values than a statement binds parameters.

asyncpg binds at most 32,767 parameters, and ``pk IN (:k1, :k2, ...)`` took one per key: a ``PATCH`` or
``DELETE`` by query over 35,000 rows was a 500 on PostgreSQL (in the item rule check, the event's ``before``
read, the write itself and the reply's read-back). SQLite's limit is its build's (32,766 by default, 250,000
in Debian's): each connection of the server here is held to the default, as a stock SQLite would be, and the
same writes were a 500 there ("too many SQL variables"), as was an ``_in`` filter of 35,000 values on both
engines. The rows are inserted by one SQL batch into the scratch database (the API would spend most of the
test creating them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from tests.http.accounts_support import make_policy, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, live_server, scratch_database

pytestmark = pytest.mark.long

ROWS = 35_000
STOCK_SQLITE_VARIABLES = 32_766  # SQLITE_MAX_VARIABLE_NUMBER's default since SQLite 3.32
UNBOUNDED = {"MAX_QUERY_COMPLEXITY": "-1"}  # a key list as long as the table
PK = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}, "meta": {}}
FIELDS = [PK, {"field": "body", "type": "string", "meta": {}, "schema": {}}]


async def _fill(engine: AsyncEngine) -> None:
    table = sa.table("lk_messages", sa.column("body", sa.String))
    async with engine.begin() as conn:
        await conn.execute(sa.insert(table), [{"body": "old"}] * ROWS)


def _stock_sqlite_limit(live: LiveServer) -> None:
    """Hold every SQLite connection the server opens from now on to a stock build's parameter limit."""
    engine = live.runtime.engine
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _limit(dbapi_connection: Any, _record: Any) -> None:
        driver = dbapi_connection.driver_connection  # aiosqlite's: the call runs on its connection's thread
        await_only(driver._execute(driver._conn.setlimit, sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, STOCK_SQLITE_VARIABLES))

    live.run(engine.dispose())


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """(server with ``ROWS`` messages, token of a user who may update and delete those whose body is "old")."""
    with scratch_database(tmp_path_factory.mktemp("lk")) as env, live_server({**env, **UNBOUNDED}) as live:
        _stock_sqlite_limit(live)
        with live.client() as admin:
            ok(
                admin.post(
                    "/collections", json={"collection": "lk_messages", "meta": {}, "schema": {}, "fields": FIELDS}
                )
            )
            live.run(_fill(live.runtime.engine))
            rule = {"body": {"_in": ["old", "new"]}}
            policy = make_policy(
                admin,
                {"collection": "lk_messages", "action": "read", "fields": ["*"]},
                {"collection": "lk_messages", "action": "update", "fields": ["*"], "permissions": rule},
                {"collection": "lk_messages", "action": "delete", "permissions": rule},
            )
            _, token = make_user(admin, policies=(policy,))
        yield live, token


def test_update_and_delete_by_query_over_more_keys_than_a_statement_binds(server: tuple[LiveServer, str]) -> None:
    live, token = server
    with live.client(token=token) as client, WS(live.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        subscribe = {"type": "subscribe", "collection": "lk_messages", "query": {"fields": ["id"]}, "uid": "s"}
        assert ws.request(subscribe)["event"] == "init"
        body = {"query": {"limit": -1}, "data": {"body": "new"}}
        updated = ok(client.request("PATCH", "/items/lk_messages", json=body, params={"fields": "id"}))
        assert len(updated) == ROWS
        event = ws.recv_until(lambda frame: frame.get("event") == "update", timeout=60)
        assert len(event["data"]) == ROWS  # the event's read of its keys, as this subscriber may see them
        counts = ok(client.get("/items/lk_messages", params={"aggregate[count]": "*", "groupBy": "body"}))
        assert counts == [{"body": "new", "count": ROWS}]
        keys = ok(client.get("/items/lk_messages", params={"fields": "id", "limit": "-1"}))
        ok(
            client.request(
                "PATCH", "/items/lk_messages", json={"keys": [k["id"] for k in keys], "data": {"body": "old"}}
            )
        )
        ok(client.request("DELETE", "/items/lk_messages", json={"query": {"limit": -1}}), 204)
        assert ok(client.get("/items/lk_messages", params={"aggregate[count]": "*"})) == [{"count": 0}]


def test_in_filters_longer_than_a_statement_binds(server: tuple[LiveServer, str]) -> None:
    """``_in`` and ``_nin`` of more values than the engine binds in one statement, on the key and on a text
    field, answer as a short list does."""
    live, token = server
    keys = list(range(1, ROWS + 1))
    bodies = ["old"] + [f"other {i}" for i in range(ROWS)]
    cases = [
        ({"id": {"_in": keys}}, ROWS),
        ({"id": {"_nin": keys[1:]}}, 1),
        ({"body": {"_in": bodies}}, ROWS),
        ({"body": {"_nin": bodies[1:]}}, ROWS),
        ({"_and": [{"id": {"_in": keys[:-5]}}, {"body": {"_nin": bodies[:1]}}]}, 0),
    ]
    with live.client(token=token) as client:
        for filter_, count in cases:
            query = {"query": {"filter": filter_, "aggregate": {"count": "*"}}}
            assert ok(client.request("SEARCH", "/items/lk_messages", json=query)) == [{"count": count}], filter_
