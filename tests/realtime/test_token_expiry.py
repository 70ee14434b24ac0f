"""A JWT's ``exp`` on an open socket (spec §3): ``TOKEN_EXPIRED``, then ``AUTH_TIMEOUT`` and a close unless
the client re-authenticates in time. The expiry waits as a loop timer, not a task, until it fires."""

from __future__ import annotations

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer
from tests.support.servers import NO_HEARTBEAT, module_server

srv = module_server(
    "expiry",
    env={
        "ACCESS_TOKEN_TTL": "3s",
        "WEBSOCKETS_REST_AUTH_TIMEOUT": "2",  # the re-auth window: room for an argon2 login under load
        **NO_HEARTBEAT,
    },
)


def fresh_token(server: LiveServer) -> str:
    with server.client(token=None) as http:
        response = http.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        response.raise_for_status()
        token: str = response.json()["data"]["access_token"]
        return token


def is_auth_error(code: str) -> object:
    return lambda frame: frame.get("type") == "auth" and frame.get("error", {}).get("code") == code


def test_expired_token_without_reauth_times_out_and_closes(srv: LiveServer) -> None:
    token = fresh_token(srv)  # logged in before the socket opens: the login is no part of its auth window
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        ws.recv_until(is_auth_error("TOKEN_EXPIRED"), timeout=6)
        ws.recv_until(is_auth_error("AUTH_TIMEOUT"), timeout=5)
        assert ws.wait_closed() == 1005


def test_reauth_after_expiry_keeps_the_socket_open(srv: LiveServer) -> None:
    token = fresh_token(srv)  # logged in before the socket opens: the login is no part of its auth window
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        ws.recv_until(is_auth_error("TOKEN_EXPIRED"), timeout=6)
        assert ws.request({"type": "auth", "access_token": fresh_token(srv), "uid": "again"})["status"] == "ok"
        # the old token's re-auth window (2 s) passes silently; the next word is the new token's expiry
        after = ws.recv_until(lambda frame: frame.get("type") == "auth", timeout=6)
        assert after["error"]["code"] == "TOKEN_EXPIRED"
