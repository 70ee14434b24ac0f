"""A client's Origin and User-Agent headers, however long, never fail its writes or its sign-in.

The history (``directus_activity``) and session (``directus_sessions``) rows keep where a request came from;
their ``origin`` is ``VARCHAR(255)``. An Origin header of 300 characters made every REST write of that client
a 500 on PostgreSQL and MySQL (``value too long for type character varying(255)`` on the activity row), and
its sign-in too; SQLite kept it whole. Now the origin is cut to 255 characters (the user agent to 1024, as
before) wherever a request's accountability is made (REST and WebSocket, ``tidepool.context.request_where``).
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOKEN, LiveServer
from tests.support.seed import seed_messages
from tests.support.servers import module_server

ORIGIN = "https://" + "o" * 300 + ".example"
# The WebSocket's origin guard admits a CORS origin: this long one, so the socket's writes can be tried.
srv = module_server("long-request-headers", env={"CORS_ENABLED": "true", "CORS_ORIGIN": ORIGIN}, seed=[seed_messages])
AGENT = "agent " + "u" * 5000


def _activity(admin: httpx.Client, key: Any) -> dict[str, Any]:
    params = {"filter[item][_eq]": str(key), "filter[collection][_eq]": "messages", "fields": "origin,user_agent"}
    [row] = admin.get("/activity", params=params).json()["data"]
    found: dict[str, Any] = row
    return found


def test_a_write_with_a_long_origin_is_written_and_its_origin_kept_cut(srv: LiveServer) -> None:
    with srv.client() as admin:
        created = admin.post("/items/messages", json={"text": "x"}, headers={"Origin": ORIGIN, "User-Agent": AGENT})
        assert created.status_code == 200, created.text
        row = _activity(admin, created.json()["data"]["id"])
    assert row == {"origin": ORIGIN[:255], "user_agent": AGENT[:1024]}


def test_a_sign_in_with_a_long_origin_succeeds(srv: LiveServer) -> None:
    with srv.client(token=None) as anonymous:
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "mode": "session"}
        signed_in = anonymous.post("/auth/login", json=body, headers={"Origin": ORIGIN})
    assert signed_in.status_code == 200, signed_in.text


def test_a_websocket_write_with_a_long_origin_is_written(srv: LiveServer) -> None:
    with WS(srv.ws_url, origin=ORIGIN, user_agent_header=AGENT) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        reply = ws.request({"type": "items", "collection": "messages", "action": "create", "data": {"text": "y"}})
    assert reply.get("status") != "error", reply
    with srv.client() as admin:
        assert _activity(admin, reply["data"]["id"]) == {"origin": ORIGIN[:255], "user_agent": AGENT[:1024]}
