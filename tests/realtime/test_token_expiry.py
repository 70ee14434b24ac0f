"""A JWT's ``exp`` on an open socket (spec §3): ``TOKEN_EXPIRED``, then ``AUTH_TIMEOUT`` and a close unless
the client re-authenticates in time. The expiry waits as a loop timer, not a task, until it fires."""

from __future__ import annotations

from pathlib import Path

from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import create_messages
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
    return str(server.admin_login()["access_token"])


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


def test_in_public_mode_an_expired_socket_ends_what_the_public_may_not_read(tmp_path: Path) -> None:
    """``public`` mode keeps the socket open after ``AUTH_TIMEOUT``, as public for good: a subscription the
    Public policy may not read ends then, with its uid (as after a failed re-auth), instead of answering every
    later event in its collection with a ``FORBIDDEN`` frame. Through the re-auth window it is kept."""
    env = {"WEBSOCKETS_REST_AUTH": "public", "ACCESS_TOKEN_TTL": "3s", "WEBSOCKETS_REST_AUTH_TIMEOUT": "2"}
    with scratch_database(tmp_path) as db, live_server({**db, **env, **NO_HEARTBEAT}) as server:
        with server.client() as admin:
            create_messages(admin)
        token = fresh_token(server)
        with WS(server.ws_url) as ws:
            assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
            subscribed = ws.request({"type": "subscribe", "collection": "messages", "uid": "s"})
            assert subscribed["event"] == "init", subscribed
            ws.recv_until(is_auth_error("TOKEN_EXPIRED"), timeout=6)
            ws.recv_until(is_auth_error("AUTH_TIMEOUT"), timeout=5)
            ended = ws.recv(timeout=5)
            assert ended["type"] == "subscribe" and ended["uid"] == "s", ended
            assert ended["error"]["code"] == "FORBIDDEN", ended
            read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r"})
            assert read["uid"] == "r" and read["error"]["code"] == "FORBIDDEN"  # still open, as public
