"""A subscribe refused because its socket's subscriptions lane is full gives its place back.

A subscribe takes a place under ``WEBSOCKETS_SUBSCRIPTIONS_LIMIT`` at intake (``realtime/places.py``), before
it waits its turn in the socket's ``subscriptions`` lane (``realtime/lanes.py``, at most
``WEBSOCKETS_SEND_QUEUE_LIMIT`` waiting jobs). When the lane refused the job (``REQUESTS_EXCEEDED``), the
place stayed taken until the socket closed, so each refusal lowered that socket's limit by one for good.

The refusal is produced for real: the frames of a burst are written in one TCP write, so the server takes
them in one network read and admits them all before its lane runs any.
"""

from __future__ import annotations

import json
from typing import Any

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import NO_HEARTBEAT, messages_collection, module_server

LANE = 8  # WEBSOCKETS_SEND_QUEUE_LIMIT: the most jobs one lane holds
CAP = 20  # WEBSOCKETS_SUBSCRIPTIONS_LIMIT


srv = module_server(
    "lanes",
    env={
        **NO_HEARTBEAT,
        "WEBSOCKETS_SUBSCRIPTIONS_LIMIT": str(CAP),
        "WEBSOCKETS_SEND_QUEUE_LIMIT": str(LANE),
        "WEBSOCKETS_FRAME_GAP_MS": "0",
    },
    seed=messages_collection,
)


def _subscribe(uid: str) -> dict[str, Any]:
    return {"type": "subscribe", "collection": "messages", "query": {"fields": ["id"]}, "uid": uid}


def send_in_one_write(ws: WS, messages: list[dict[str, Any]]) -> None:
    """Every message as its own WebSocket frame, all written to the socket at once."""
    conn = ws.conn
    with conn.protocol_mutex:
        for message in messages:
            conn.protocol.send_text(json.dumps(message).encode())
        conn.socket.sendall(b"".join(conn.protocol.data_to_send()))


def test_a_subscribe_refused_by_a_full_lane_gives_its_place_back(srv: LiveServer) -> None:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        send_in_one_write(ws, [_subscribe(f"f{n}") for n in range(LANE)] + [_subscribe("refused")])
        frames = [ws.recv() for _ in range(LANE + 1)]
        refusals = [f for f in frames if f.get("type") == "server"]
        assert [f["error"]["code"] for f in refusals] == ["REQUESTS_EXCEEDED"], frames
        assert sorted(f["uid"] for f in frames if f.get("event") == "init") == sorted(f"f{n}" for n in range(LANE))
        granted = 0
        while (reply := ws.request(_subscribe(f"g{granted}")))["type"] == "subscription":
            granted += 1
        assert reply["error"]["code"] == "LIMIT_EXCEEDED", reply
        assert LANE + granted == CAP  # the refused subscribe holds no place


# Frames leave 150 ms apart, so the replies of one burst are all queued before many are written.
slow_writer = module_server(
    "gap",
    env={**NO_HEARTBEAT, "WEBSOCKETS_SEND_QUEUE_LIMIT": str(LANE), "WEBSOCKETS_FRAME_GAP_MS": "150"},
    seed=messages_collection,
)


def test_replies_made_in_a_lane_wait_for_room_so_a_reading_client_is_not_closed(slow_writer: LiveServer) -> None:
    """A burst of ``LANE + 5`` reads: five are refused at once (five replies queued), the lane holds the other
    ``LANE``. Their replies used to be queued as fast as the reads ran, past the queue limit, and the client,
    which reads everything, was closed with 1008; now each job waits until the queue is under half."""
    with WS(slow_writer.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        read = {"type": "items", "collection": "messages", "action": "read"}
        send_in_one_write(ws, [{**read, "uid": n} for n in range(LANE + 5)])
        frames = [ws.recv() for _ in range(LANE + 5)]
        assert sorted(f["uid"] for f in frames if f.get("type") == "items") == list(range(LANE))
        assert [f["error"]["code"] for f in frames if f.get("type") == "server"] == ["REQUESTS_EXCEEDED"] * 5
        assert ws.request({**read, "uid": "after"}) == {"type": "items", "data": [], "uid": "after"}
