"""A batch write of thousands of items is thousands of events (one per item, as Directus emits them); a socket
takes one frame per ``WEBSOCKETS_FRAME_GAP_MS``. Events that queue up behind that gap fold into the frames
already queued (``tidepool/realtime/coalesce.py``), so a subscriber that reads at full speed gets every item,
once, in order, with increasing ``seq``, and is never dropped (it was: 1013 "send queue overflow" after about
a thousand events), while one that stops reading is still dropped by the queue's byte bound."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import seed_messages
from tests.support.servers import NO_HEARTBEAT, module_server
from tidepool.realtime.coalesce import EventFrame, fold

srv = module_server("batch-events", env=NO_HEARTBEAT, seed=seed_messages)  # queue, bytes and gap: defaults
small = module_server(
    "batch-events-bytes", env={**NO_HEARTBEAT, "WEBSOCKETS_SEND_QUEUE_BYTES": "256kb"}, seed=seed_messages
)

Frames = dict[str, list[dict[str, Any]]]  # uid -> the subscription event frames it got, in order


def _subscribe(ws: WS, uid: str, query: dict[str, Any], **extra: Any) -> None:
    ws.send({"type": "subscribe", "collection": "messages", "uid": uid, "query": query, **extra})
    init = ws.recv_until(lambda m: m.get("uid") == uid, timeout=30)
    assert init["event"] == "init", init


def _read(ws: WS, done: Callable[[Frames], bool], timeout: float = 180) -> Frames:
    """Every subscription frame until ``done`` holds, read as fast as they come (a close fails the test)."""
    frames: Frames = {}
    deadline = time.monotonic() + timeout
    while not done(frames):
        try:
            message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        except ConnectionClosed as exc:
            raise AssertionError(f"the reader was dropped: {exc}; got {_counts(frames)}") from None
        if message.get("type") == "subscription":
            frames.setdefault(message["uid"], []).append(message)
    return frames


def _counts(frames: Frames) -> dict[str, int]:
    return {uid: sum(len(f["data"]) for f in got) for uid, got in frames.items()}


def _has(wanted: dict[str, int]) -> Callable[[Frames], bool]:
    return lambda frames: all(_counts(frames).get(uid, 0) >= n for uid, n in wanted.items())


def _keys(frames: list[dict[str, Any]], event: str) -> list[Any]:
    """The items' keys across the frames (each frame of ``event``, its ``seq`` above the one before)."""
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)), "seq increases frame by frame"
    assert {f["event"] for f in frames} == {event}
    return [item if event == "delete" else item["id"] for f in frames for item in f["data"]]


def _alive(ws: WS) -> None:
    """The socket is open and answers (the heartbeat is off here, so a ``ping`` would get no ``pong``)."""
    ws.send({"type": "items", "collection": "messages", "action": "read", "query": {"limit": 1}, "uid": "alive"})
    assert ws.recv_until(lambda m: m.get("uid") == "alive", timeout=30)["type"] == "items"


def _rows(n: int, label: str, pad: int = 0) -> list[dict[str, Any]]:
    return [{"text": f"{label}-{i}" + "x" * pad, "user": label} for i in range(n)]


def _create(admin: httpx.Client, rows: list[dict[str, Any]]) -> list[int]:
    reply = admin.post("/items/messages", params={"fields": "id"}, json=rows, timeout=120)
    assert reply.status_code == 200, reply.text
    return [row["id"] for row in reply.json()["data"]]


def test_a_full_speed_reader_gets_every_item_of_a_5000_item_create(srv: LiveServer) -> None:
    with srv.client() as admin, WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as ws:
        _subscribe(ws, "all", {"fields": ["id", "text"]})
        # an event filter and a limit (init only): each event reaches it by the per-subscription path
        _subscribe(ws, "creates", {"fields": ["id"], "limit": 2, "sort": ["-id"]}, event="create")
        ids = _create(admin, _rows(5000, "create"))
        got = _read(ws, _has({"all": 5000, "creates": 5000}))
        assert _keys(got["all"], "create") == ids, "every item exactly once, in order"
        assert _keys(got["creates"], "create") == ids
        for frame in got["all"]:  # a plain Directus subscription message (with the extra ``seq``), however many items
            assert list(frame) == ["type", "event", "data", "uid", "seq"]
            assert {*frame["data"][0]} == {"id", "text"}
        _alive(ws)


def test_a_3000_item_update_batch_and_delete_by_query_reach_a_full_speed_reader(srv: LiveServer) -> None:
    """An update batch (one event per item): one subscription sees updates, a filtered one sees each row
    leave (a delete made from the update), both folded side by side, and an item subscription its one row's
    update in between; then a delete by query (one event)."""
    with srv.client() as admin, WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as ws:
        ids = _create(admin, _rows(3000, "keep"))
        _subscribe(ws, "all", {"fields": ["id", "text"], "filter": {"user": {"_eq": "keep"}}})
        _subscribe(ws, "kept", {"fields": ["id"], "filter": {"text": {"_starts_with": "keep-"}}})
        _subscribe(ws, "one", {"fields": ["id", "text"]}, item=ids[1500])  # object data: never folds
        reply = admin.patch("/items/messages", json=[{"id": i, "text": f"moved-{i}"} for i in ids], timeout=120)
        assert reply.status_code == 200, reply.text
        frames = _read(ws, _has({"all": 3000, "kept": 3000}))
        assert _keys(frames["all"], "update") == ids
        assert [item["text"] for f in frames["all"] for item in f["data"]] == [f"moved-{i}" for i in ids]
        assert _keys(frames["kept"], "delete") == ids
        assert [(f["event"], f["data"]) for f in frames["one"]] == [
            ("update", {"id": ids[1500], "text": f"moved-{ids[1500]}"})
        ]
        last = max(f["seq"] for f in frames["all"])
        assert max(f["seq"] for f in frames["kept"]) == last, "both carry the last update's seq"

        query = {"filter": {"user": {"_eq": "keep"}}, "limit": -1}
        reply = admin.request("DELETE", "/items/messages", json={"query": query}, timeout=120)
        assert reply.status_code == 204, reply.text
        deleted = _read(ws, _has({"all": 3000}))
        assert _keys(deleted["all"], "delete") == ids
        assert "kept" not in deleted, "those rows had left its view already"
        assert all(f["seq"] > last for f in deleted["all"])


def test_a_reader_that_stops_is_dropped_by_bytes_while_a_full_speed_one_gets_everything(small: LiveServer) -> None:
    """Folding keeps the stopped reader's entries few, so its queue's byte bound (256 KiB here) must drop it;
    the reader beside it, with the same bound, is never dropped and gets every item."""
    hub = small.app.state.websocket
    url = f"{small.ws_url}?access_token={ADMIN_TOKEN}"
    with small.client() as admin, WS(url) as fast:
        before = set(hub.sockets)
        with WS(url, sock=_small_socket(small.port), max_queue=1) as stopped:
            (client,) = set(hub.sockets) - before
            _subscribe(stopped, "s", {"fields": ["id", "text"]})  # and never read again
            _subscribe(fast, "f", {"fields": ["id", "text"]})
            for n in range(12):  # ~0.9 MB of frames per batch: past what the kernel's buffers hold
                if client.closed:
                    break
                ids = _create(admin, _rows(5000, f"b{n}", pad=120))
                assert _keys(_read(fast, _has({"f": 5000}))["f"], "create") == ids
            assert client.closed, "the reader that stopped was dropped"
            assert stopped.wait_closed(timeout=30) == 1013
        _alive(fast)


def _small_socket(port: int) -> socket.socket:
    """A connected socket with a small receive buffer: a reader that stops fills it at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


def test_a_folded_frame_is_the_json_of_both_events_and_counts_its_own_bytes() -> None:
    """The queue's byte count takes a frame's ``len`` when it is queued and when it is written: the two must
    agree with the bytes sent, before and after folds, or the count drifts."""
    older = EventFrame(b"create", b'{"id":1}', 1, b"", b',"uid":"u"', 9)
    newer = EventFrame(b"create", b'{"id":2},{"id":3}', 2, b',"meta":{"total_count":3}', b',"uid":"u"', 10)
    assert len(older) == len(older.encode()) and len(newer) == len(newer.encode())
    assert fold([older], [newer], 1 << 20)
    assert json.loads(older.encode()) == {
        "type": "subscription",
        "event": "create",
        "data": [{"id": 1}, {"id": 2}, {"id": 3}],
        "meta": {"total_count": 3},
        "uid": "u",
        "seq": 10,
    }
    assert len(older) == len(older.encode())
    other_kind = EventFrame(b"delete", b"4", 1, b"", b',"uid":"u"', 11)
    other_uid = EventFrame(b"create", b'{"id":4}', 1, b"", b',"uid":"v"', 11)
    too_big = EventFrame(b"create", b'{"id":4}', 1, b"", b',"uid":"u"', 11)
    assert not fold([older], [other_kind], 1 << 20)
    assert not fold([older], [other_uid], 1 << 20)
    assert not fold([older], [too_big], len(older) + 4), "past the byte bound"
    assert not fold([older], [newer, other_uid], 1 << 20), "another set of subscriptions"
    assert not fold([older, b"{}"], [newer, newer], 1 << 20), "encoded bytes (a reply, an error) never fold"
