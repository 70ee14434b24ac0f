"""One group's delivery (``subscriptions.deliver_group``): every subscriber gets what the rules say, in order.

Five sockets of three users whose read permissions are identical (separate policies, so one of them can lose
its read alone) hold subscriptions of one shape: one group, one read per event. The group's frames are built
once per uid and written straight to the sockets that can take them; each subscriber must still get exactly
its own: its uid (or none), only the events it filtered for, the item it named, nothing once its access was
revoked, and a reader that stopped reading gets a prefix of the events in ``seq`` order and then its 1013
close, without taking anything from the others. Over real sockets (``tests/realtime/wsclient.py``).
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.http.accounts_support import make_policy, make_role, make_user, ok
from tests.realtime.test_subscriptions_helpers import realtime, wait_dispatched
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.seed import create_messages

READ_ALL = {"collection": "messages", "action": "read", "fields": ["*"]}
ROWS = 200
TEXT = 250  # the seed's ``text`` is a string of at most 255: 200 rows of 250 characters, ~55 KB per update event


@pytest.fixture
def server_env() -> dict[str, str]:
    return {
        "WEBSOCKETS_HEARTBEAT_ENABLED": "false",
        "WEBSOCKETS_SEND_QUEUE_LIMIT": "4",
        "WEBSOCKETS_SEND_STALL_TIMEOUT": "1",
    }


def _reader(admin: httpx.Client) -> tuple[str, str]:
    """(token, policy id) of a user who may read every message, through a policy of its own."""
    policy = make_policy(admin, READ_ALL)
    _, token = make_user(admin, role=make_role(admin, policy))
    return token, policy


def _socket(server: LiveServer, token: str, **kwargs: Any) -> WS:
    ws = WS(server.ws_url, **kwargs)
    assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
    return ws


def _subscribe(ws: WS, uid: str | None = None, **extra: Any) -> None:
    message: dict[str, Any] = {"type": "subscribe", "collection": "messages", "query": {"fields": ["id", "text"]}}
    if uid is not None:
        message["uid"] = uid
    init = ws.request({**message, **extra})
    assert init["type"] == "subscription" and init["event"] == "init", init


def _stalled(server: LiveServer, token: str) -> WS:
    """A socket with a tiny receive buffer whose client keeps one message: once the test stops reading it,
    the server's writes back up into its transport and then its send queue."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    return _socket(server, token, sock=sock, max_queue=1)


def _drain(ws: WS) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame the socket still gets, and its close code (None: still open when it went quiet)."""
    frames: list[dict[str, Any]] = []
    while True:
        try:
            frames.append(json.loads(ws.conn.recv(timeout=2)))
        except TimeoutError:
            return frames, None
        except ConnectionClosed:
            rcvd = ws.conn.protocol.close_rcvd
            return frames, None if rcvd is None else int(rcvd.code)


def test_one_group_each_subscriber_gets_what_its_rules_say(server: LiveServer, admin: httpx.Client) -> None:
    create_messages(admin)
    rows = ok(admin.post("/items/messages", json=[{"text": "a" * TEXT} for _ in range(ROWS)]))
    ids = [row["id"] for row in rows]
    reader, _ = _reader(admin)
    revoked, revoked_policy = _reader(admin)
    stopped, _ = _reader(admin)
    hub = server.app.state.websocket
    unbounded = {"max_queue": None}
    with (
        _socket(server, reader, **unbounded) as first,
        _socket(server, reader, **unbounded) as second,
        _socket(server, revoked, **unbounded) as losing,
    ):
        _subscribe(first, "x")
        _subscribe(second, "y")
        _subscribe(second)  # no uid: its frames carry none
        _subscribe(second, "only-updates", event="update")
        _subscribe(second, "item", item=ids[0])
        _subscribe(losing, "x")
        before = set(hub.sockets)
        stalled = _stalled(server, stopped)
        (stalled_client,) = set(hub.sockets) - before
        _subscribe(stalled, "x")
        assert realtime(server).dispatcher.groups() == 1  # identical reads: one group for all of them

        permission = ok(admin.get("/permissions", params={"filter[policy][_eq]": revoked_policy}))[0]["id"]
        assert admin.delete(f"/permissions/{permission}").status_code == 204
        updates = 0
        while not stalled_client.closed and updates < 400:  # ~55 KB events until the stalled socket overflows
            updates += 1
            ok(admin.patch("/items/messages", json={"keys": ids, "data": {"text": f"{updates:04}".ljust(TEXT, "z")}}))
        assert stalled_client.closed
        created = ok(admin.post("/items/messages", json={"text": "last"}))["id"]
        wait_dispatched(server)

        firsts, _ = _drain(first)
        seconds, _ = _drain(second)
        lost, _ = _drain(losing)
        stalled_frames, code = _drain(stalled)

    events = [f for f in firsts if f["type"] == "subscription"]
    assert [f["event"] for f in events] == ["update"] * updates + ["create"]
    seqs = [f["seq"] for f in events]
    assert seqs == sorted(set(seqs))  # one frame per event, in commit order
    assert all(f["uid"] == "x" for f in events)
    assert [len(f["data"]) for f in events[:-1]] == [ROWS] * updates
    assert events[-2]["data"][0]["text"] == f"{updates:04}".ljust(TEXT, "z")
    assert events[-1]["data"] == [{"id": created, "text": "last"}]

    by_uid: dict[str | None, list[dict[str, Any]]] = {}
    for frame in seconds:
        assert frame["type"] == "subscription", frame
        by_uid.setdefault(frame.get("uid"), []).append(frame)
    assert set(by_uid) == {"y", None, "only-updates", "item"}
    for uid in ("y", None):
        assert [(f["event"], f["seq"], f["data"]) for f in by_uid[uid]] == [
            (f["event"], f["seq"], f["data"]) for f in events
        ]
    assert [f["seq"] for f in by_uid["only-updates"]] == seqs[:-1]
    item = by_uid["item"]
    assert [f["seq"] for f in item] == seqs[:-1]
    assert all(f["event"] == "update" and f["data"]["id"] == ids[0] for f in item)
    assert [f["seq"] for f in seconds] == sorted(f["seq"] for f in seconds)  # per socket, in seq order

    # The revoked subscriber: its subscription ended with an error before any of these events, then nothing.
    assert len(lost) == 1 and lost[0]["type"] == "subscribe" and lost[0]["uid"] == "x", lost
    assert lost[0]["error"]["code"] == "FORBIDDEN"

    # The stalled subscriber: a prefix of the same events, in order, then the overflow close.
    got = [f for f in stalled_frames if f["type"] == "subscription"]
    assert [f["seq"] for f in got] == seqs[: len(got)]
    assert all(f["uid"] == "x" for f in got)
    assert code == 1013
    assert len(got) < updates


def test_frames_of_one_event_to_one_socket_keep_their_order(server: LiveServer, admin: httpx.Client) -> None:
    """A socket with several subscriptions in one group gets one event's frames in subscription order: the
    first goes straight to the transport, the next wait behind it for the frame gap, never ahead of it. Events
    that queue up meanwhile fold (one frame per subscription carrying several events' items), so the frames
    come in rounds of the subscriptions, each round in their order, and each subscription gets every item."""
    create_messages(admin)
    reader, _ = _reader(admin)
    with _socket(server, reader, max_queue=None) as ws:
        uids = [f"s{n}" for n in range(6)]
        for uid in uids:
            _subscribe(ws, uid)
        for n in range(5):
            ok(admin.post("/items/messages", json={"text": f"t{n}"}))
        wait_dispatched(server)
        frames, _ = _drain(ws)
    rounds = len(frames) // len(uids)
    assert [f["uid"] for f in frames] == uids * rounds
    for uid in uids:
        assert [item["text"] for f in frames if f["uid"] == uid for item in f["data"]] == [f"t{n}" for n in range(5)]
    assert [frame["seq"] for frame in frames] == sorted(frame["seq"] for frame in frames)
    for first in range(0, len(frames), len(uids)):  # one round: the same events, so the same seq
        assert len({frame["seq"] for frame in frames[first : first + len(uids)]}) == 1
