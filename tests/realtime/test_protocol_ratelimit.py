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
        "RATE_LIMITER_WEBSOCKETS_DURATION": "1",
    },
)


def test_messages_over_the_limit_are_refused_per_connection(srv: LiveServer) -> None:
    with WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as ws, WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as other:
        for i in range(5):
            assert ws.request({"type": "ping", "uid": i}) == {"type": "pong", "uid": i}
        refused = ws.request({"type": "ping", "uid": "over"})
        assert refused["type"] == "server" and "uid" not in refused
        assert refused["error"]["code"] == "REQUESTS_EXCEEDED"
        assert re.fullmatch(r"Too many messages, retry after \d+ms\.", refused["error"]["message"])
        assert other.request({"type": "ping"}) == {"type": "pong"}  # keyed per connection, not per IP
        time.sleep(1.05)
        assert ws.request({"type": "ping", "uid": "again"}) == {"type": "pong", "uid": "again"}
