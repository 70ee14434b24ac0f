"""Writes by query (and by key list) over more rows than a driver takes parameters in one statement.

asyncpg binds at most 32,767 parameters, and ``pk IN (:k1, :k2, ...)`` took one per key: a ``PATCH`` or
``DELETE`` by query over 35,000 rows was a 500 on PostgreSQL (in the item rule check, the event's ``before``
read, the write itself and the reply's read-back). The rows are inserted by one SQL batch into the scratch
database (the API would spend most of the test creating them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.http.accounts_support import make_policy, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, live_server, scratch_database

pytestmark = pytest.mark.long

ROWS = 35_000
UNBOUNDED = {"MAX_QUERY_COMPLEXITY": "-1"}  # a key list as long as the table
PK = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}, "meta": {}}
FIELDS = [PK, {"field": "body", "type": "string", "meta": {}, "schema": {}}]


async def _fill(engine: AsyncEngine) -> None:
    table = sa.table("lk_messages", sa.column("body", sa.String))
    async with engine.begin() as conn:
        await conn.execute(sa.insert(table), [{"body": "old"}] * ROWS)


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """(server with ``ROWS`` messages, token of a user who may update and delete those whose body is "old")."""
    with scratch_database(tmp_path_factory.mktemp("lk")) as env, live_server({**env, **UNBOUNDED}) as live:
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
