"""A client's list of keys is bounded like an ``_in`` list (``MAX_QUERY_COMPLEXITY``): an ``items`` message's
``ids`` and a REST body's ``keys`` (or key array) past the limit are ``INVALID_PAYLOAD`` before anything is read,
cast or written; at the limit they are served as before.

Found by a hostile run: one 1 MB frame holds 140,000 ``ids``; a read by them took 0.7 to 2.2 s of event-loop
CPU (every other socket's ping waited that long), an update by 100,000 up to 5.4 s, and on PostgreSQL both
answered ``INTERNAL_SERVER_ERROR`` (past the driver's 32,767 parameters), while a filter's ``_in`` of the same
keys was refused at once.
"""

from __future__ import annotations

import httpx

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import seed_messages
from tests.support.servers import NO_HEARTBEAT, module_server

LIMIT = 50
srv = module_server("key-lists", env={"MAX_QUERY_COMPLEXITY": str(LIMIT), **NO_HEARTBEAT}, seed=seed_messages)
TOO_MANY = f"Invalid payload. {LIMIT + 1} keys, more than the {LIMIT} allowed (MAX_QUERY_COMPLEXITY)."


def _count(admin: httpx.Client) -> int:
    rows = admin.get("/items/messages", params={"limit": -1, "fields": "id"}).json()["data"]
    return len(rows)


def _texts(admin: httpx.Client) -> list[str]:
    rows = admin.get("/items/messages", params={"limit": -1, "fields": "text", "sort": "id"}).json()["data"]
    return [row["text"] for row in rows]


def test_ids_past_the_limit_are_refused_and_nothing_is_touched(srv: LiveServer) -> None:
    with srv.client() as admin:
        created = admin.post("/items/messages", json=[{"text": f"k{n}"} for n in range(LIMIT)])
        keys = [row["id"] for row in created.json()["data"]]
        before = _texts(admin)
        with WS(srv.ws_url) as ws:
            assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
            for action in ("read", "update", "delete"):
                message = {
                    "type": "items",
                    "collection": "messages",
                    "action": action,
                    "ids": [*keys, 10**9],
                    "data": {"text": "changed"},
                    "uid": action,
                }
                assert ws.request(message, timeout=10) == {
                    "type": "items",
                    "status": "error",
                    "error": {"code": "INVALID_PAYLOAD", "message": TOO_MANY},
                    "uid": action,
                }
            assert _texts(admin) == before  # nothing updated, nothing deleted
            read = {"type": "items", "collection": "messages", "action": "read", "ids": keys, "uid": "at-limit"}
            reply = ws.request({**read, "query": {"fields": ["id"]}}, timeout=10)
            assert reply == {"type": "items", "data": [{"id": key} for key in keys], "uid": "at-limit"}


def test_rest_key_lists_past_the_limit_are_refused(srv: LiveServer) -> None:
    keys = list(range(1, LIMIT + 2))
    with srv.client() as admin:
        before = _count(admin)
        refusals = [
            admin.request("SEARCH", "/items/messages", json={"keys": keys}),
            admin.patch("/items/messages", json={"keys": keys, "data": {"text": "changed"}}),
            admin.request("DELETE", "/items/messages", json=keys),
            admin.request("DELETE", "/items/messages", json={"keys": keys}),
        ]
        for response in refusals:
            assert response.status_code == 400, response.text
            error = response.json()["errors"][0]
            assert error["message"] == TOO_MANY and error["extensions"]["code"] == "INVALID_PAYLOAD", error
        assert _count(admin) == before
        assert admin.request("SEARCH", "/items/messages", json={"keys": keys[:LIMIT]}).status_code == 200
