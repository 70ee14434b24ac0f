"""Upgrade checks and limits over real sockets: connection limit, Origin, frame size, send-queue overflow,
protocol-level pings, and the per-connection message rate limit."""

from __future__ import annotations

import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.realtime.wsclient import WS, rejected_status
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import USER_TOKEN, seed_messages
from tests.support.servers import module_server

srv = module_server(
    "limits",
    env={
        "WEBSOCKETS_REST_CONN_LIMIT": "3",
        "MAX_PAYLOAD_SIZE": "64kb",
        "WEBSOCKETS_SEND_QUEUE_LIMIT": "8",
        "WEBSOCKETS_SEND_STALL_TIMEOUT": "1",
        "PUBLIC_URL": "https://app.example.com/",
        "CORS_ENABLED": "true",
        "CORS_ORIGIN": "https://trusted.example,/\\.partner\\.example$/",
    },
    seed=seed_messages,
)


def authed(server: LiveServer, token: str = ADMIN_TOKEN, **kwargs: object) -> WS:
    return WS(f"{server.ws_url}?access_token={token}", **kwargs)


def test_connection_limit_refuses_with_403_and_frees_slots(srv: LiveServer) -> None:
    with authed(srv), authed(srv), authed(srv):
        assert rejected_status(srv.ws_url) == 403
    deadline = time.monotonic() + 5
    while True:  # slots are released once the server has seen the closes
        try:
            with authed(srv) as ws:
                assert ws.request({"type": "ping"}) == {"type": "pong"}
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://evil.example", False),
        ("https://app.example.com", True),  # PUBLIC_URL
        ("https://trusted.example", True),  # CORS_ORIGIN list
        ("https://www.partner.example", True),  # CORS_ORIGIN regex
        ("https://partner.example.evil", False),
    ],
)
def test_origin_check(srv: LiveServer, origin: str, allowed: bool) -> None:
    url = f"{srv.ws_url}?access_token={USER_TOKEN}"
    if allowed:
        with WS(url, additional_headers={"Origin": origin}) as ws:
            assert ws.request({"type": "ping"}) == {"type": "pong"}
    else:
        assert rejected_status(url, additional_headers={"Origin": origin}) == 403


def test_same_host_origin_is_allowed(srv: LiveServer) -> None:
    with WS(srv.ws_url, additional_headers={"Origin": f"http://127.0.0.1:{srv.port}"}) as ws:
        assert ws.request({"type": "auth", "access_token": USER_TOKEN}) == {"type": "auth", "status": "ok"}


def test_bad_token_and_strictless_upgrade(srv: LiveServer) -> None:
    assert rejected_status(f"{srv.ws_url}?access_token=nope") == 401


def test_frame_above_max_payload_closes_1009(srv: LiveServer) -> None:
    with authed(srv) as ws:
        ws.send("x" * (70 * 1024))
        assert ws.wait_closed() == 1009


def test_protocol_ping_is_answered(srv: LiveServer) -> None:
    with authed(srv) as ws:
        assert ws.conn.ping(b"probe").wait(5)


def test_stalled_reader_is_dropped_and_others_are_unaffected(srv: LiveServer) -> None:
    """A subscriber that stops reading while events keep coming: once the transport and then its own queue are
    full it is dropped with 1013 "send queue overflow" (try again later: resume with ``since``), and another
    client is served at once throughout."""
    hub = srv.app.state.websocket
    create = {"type": "items", "collection": "messages", "action": "create"}
    with authed(srv) as writer:
        rows = writer.request({**create, "data": [{"text": "y" * 250} for _ in range(200)]})["data"]
        ids = [row["id"] for row in rows]
        before = set(hub.sockets)
        stalled = authed(srv, max_queue=1)
        (client,) = set(hub.sockets) - before
        stalled.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["text"]}})
        update = {"type": "items", "collection": "messages", "action": "update", "ids": ids}
        for n in range(600):  # events of ~50 KB each: far more than the loopback buffers hold
            if client.closed:
                break
            # A broadcast that waited for the stalled socket would never answer (it never reads): the request's
            # own 5 s timeout fails that. The 3 s bound only flags a writer slowed behind it; it was 1 s, which a
            # 200-row update on a loaded 2-core machine (the server shares the test's process) sometimes passed.
            started = time.monotonic()
            reply = writer.request({**update, "data": {"text": f"{n:03}" + "z" * 247}})
            assert reply.get("status") != "error" and time.monotonic() - started < 3, reply
        assert client.closed
        closed = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and closed is None:
            try:
                stalled.conn.recv(timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:
                closed = stalled.conn.protocol.close_rcvd
        assert closed is not None and closed.code == 1013 and closed.reason == "send queue overflow"
        assert writer.request({"type": "ping", "uid": 2}) == {"type": "pong", "uid": 2}
