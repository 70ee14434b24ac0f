"""The per-connection message rate limit: REQUESTS_EXCEEDED of type ``server``, the socket stays open."""

from __future__ import annotations

import re
import time

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import module_server

srv = module_server(
    "rl",
    env={
        "RATE_LIMITER_ENABLED": "true",
        "RATE_LIMITER_WEBSOCKETS_POINTS": "5",
        # The six pings below must land in one window: 2 s, not 1, leaves room for a loaded machine (the server
        # shares the test's process), and the pings are sent back to back rather than one round trip each.
        "RATE_LIMITER_WEBSOCKETS_DURATION": "2",
    },
)


def test_messages_over_the_limit_are_refused_per_connection(srv: LiveServer) -> None:
    with WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as ws, WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as other:
        for i in range(5):
            ws.send({"type": "ping", "uid": i})
        ws.send({"type": "ping", "uid": "over"})
        assert [ws.recv() for _ in range(5)] == [{"type": "pong", "uid": i} for i in range(5)]
        refused = ws.recv()
        assert refused["type"] == "server" and "uid" not in refused
        assert refused["error"]["code"] == "REQUESTS_EXCEEDED"
        retry = re.fullmatch(r"Too many messages, retry after (\d+)ms\.", refused["error"]["message"])
        assert retry is not None, refused
        assert other.request({"type": "ping"}) == {"type": "pong"}  # keyed per connection, not per IP
        time.sleep(int(retry[1]) / 1000 + 0.05)  # the window the server named has ended
        assert ws.request({"type": "ping", "uid": "again"}) == {"type": "pong", "uid": "again"}
