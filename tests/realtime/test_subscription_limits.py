"""Subscriptions per socket and the send queue (issue 7, item 12).

A socket may hold ``WEBSOCKETS_SUBSCRIPTIONS_LIMIT`` subscriptions; one more gets a ``LIMIT_EXCEEDED`` error
naming its uid and the socket stays usable. A client that reads at normal speed is never closed: one event's
frames to one socket count as one entry of its send queue (so fanning out to every subscription of the socket
cannot overflow it), and while a socket's queue is past its high-water mark its next request waits instead of
adding replies to it (so pipelined requests are answered at the pace the client reads).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import ok
from tests.realtime.test_subscriptions_helpers import wait_dispatched
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.seed import create_messages
from tests.support.servers import NO_HEARTBEAT, messages_collection, module_server

CAP = 60
LIMIT_EXCEEDED = {"code": "LIMIT_EXCEEDED", "message": "Subscriptions limit exceeded."}


# A queue of 20 entries, smaller than the cap: one event to every subscription is still one entry.
srv = module_server(
    "caps",
    env={**NO_HEARTBEAT, "WEBSOCKETS_SUBSCRIPTIONS_LIMIT": str(CAP), "WEBSOCKETS_SEND_QUEUE_LIMIT": "20"},
    seed=messages_collection,
)


def subscribe(ws: WS, uid: str) -> Any:
    return ws.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["id"]}, "uid": uid})


def test_subscribing_past_the_cap_is_an_error_and_the_socket_stays_usable(srv: LiveServer) -> None:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        for n in range(CAP):
            assert subscribe(ws, f"s{n}")["event"] == "init"
        refused = subscribe(ws, "extra")
        assert refused == {"type": "subscribe", "status": "error", "error": LIMIT_EXCEEDED, "uid": "extra"}
        assert subscribe(ws, "s0")["event"] == "init"  # replacing one of its own is not one more
        unsubscribed = ws.request({"type": "unsubscribe", "uid": "s1"})
        assert unsubscribed == {"type": "subscription", "event": "unsubscribe", "uid": "s1"}
        assert subscribe(ws, "extra")["event"] == "init"
        read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r"})
        assert read == {"type": "items", "data": [], "uid": "r"}


def test_one_event_to_every_subscription_of_a_reading_client_does_not_close_it(
    srv: LiveServer,
) -> None:
    with WS(srv.ws_url) as ws, srv.client() as admin:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        for n in range(CAP):
            assert subscribe(ws, f"f{n}")["event"] == "init"
        for turn in range(3):
            key = ok(admin.post("/items/messages", json={"text": f"fan {turn}"}))["id"]
            got = {(f["uid"], f["event"], f["data"][0]["id"]) for f in (ws.recv() for _ in range(CAP))}
            assert got == {(f"f{n}", "create", key) for n in range(CAP)}
        wait_dispatched(srv)
        read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "alive"})
        assert read["uid"] == "alive" and "error" not in read


def test_a_burst_of_events_paced_by_the_frame_gap_does_not_drop_a_reading_client(tmp_path: Path) -> None:
    """One REST create of 150 rows is 150 events for a subscriber; spaced by the frame gap they wait in its queue
    (15 times its 10 entries here) while it reads each as it comes. That wait is our pacing, not the client
    falling behind: it gets all 150 and stays open (before, it was dropped with 1013 "send queue overflow"
    after about a tenth of them; with the defaults, a create of 2,000 rows dropped every subscriber). Counted in
    items, not frames: events waiting in the queue fold into fewer frames (``tidepool.realtime.coalesce``)."""
    total = 150
    env = {**NO_HEARTBEAT, "WEBSOCKETS_SEND_QUEUE_LIMIT": "10", "WEBSOCKETS_FRAME_GAP_MS": "10"}
    with scratch_database(tmp_path) as db, live_server({**db, **env}) as server, server.client() as admin:
        create_messages(admin)
        with WS(f"{server.ws_url}?access_token={ADMIN_TOKEN}") as ws:
            assert subscribe(ws, "s")["event"] == "init"
            ok(admin.post("/items/messages", json=[{"text": f"burst {n}"} for n in range(total)]))
            frames: list[Any] = []
            ids: list[int] = []
            while len(ids) < total:  # frames that queued up fold: several items to a frame
                frames.append(ws.recv(timeout=10))
                ids.extend(item["id"] for item in frames[-1].get("data") or [])
            assert {frame["event"] for frame in frames} == {"create"}, frames[-1]
            assert ids == sorted(set(ids)) and len(ids) == total  # each once, in order
            read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "alive"})
            assert read["uid"] == "alive" and len(read["data"]) == 100  # the default limit


PARSE_ERROR = {"code": "INVALID_PAYLOAD", "message": "Unable to parse the incoming message."}


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        ("{not json", {"type": "server", "status": "error", "error": PARSE_ERROR}),
        ("[1]", {"type": "server", "status": "error", "error": {"code": "INVALID_PAYLOAD"}}),
        ('{"type":5}', {"type": "server", "status": "error", "error": {"code": "INVALID_PAYLOAD"}}),
        ('{"type":"subscribe"}', {"type": "subscribe", "status": "error", "error": {"code": "INVALID_PAYLOAD"}}),
    ],
    ids=["unparseable", "not-an-object", "bad-type", "subscribe-schema"],
)
def test_pipelined_bad_frames_are_all_answered_and_the_socket_stays_open(
    srv: LiveServer, frame: str, answer: dict[str, Any]
) -> None:
    """Errors that no handler makes (parse, schema) wait for room in the send queue as replies do: a client
    pipelining twenty times its queue of them, reading as it goes, gets every one and stays open (before, they
    went straight into the queue and the socket was dropped with 1013 "send queue overflow")."""
    total = 400
    with WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as ws:
        sender = threading.Thread(target=_send_all, args=(ws, [frame] * total), daemon=True)
        sender.start()
        replies = [ws.recv(timeout=30) for _ in range(total)]
        sender.join(30)
        for reply in replies:
            assert {**reply, "error": {k: reply["error"][k] for k in answer["error"]}} == answer, reply
        read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "alive"})
        assert read["uid"] == "alive" and "error" not in read


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"WEBSOCKETS_HEARTBEAT_ENABLED": "false"}  # otherwise the defaults: 100 subscriptions, 1024 frames


def _send_all(ws: WS, frames: list[Any]) -> None:
    """Sends every frame without waiting for a reply: the pipelined client the soaks need."""
    for frame in frames:
        ws.send(frame)


def test_the_sdks_doubled_resubscribe_after_a_reconnect_is_not_refused(server: LiveServer, admin: httpx.Client) -> None:
    """After a reconnect the official SDK sends every live subscription twice, with its uid, without waiting:
    100 subscriptions (the default limit) make 200 pipelined subscribes, each repeat a replacement. They take
    100 places, not 200: every one is answered ``init`` and each uid gets one frame per event (before, the
    last 100 were refused ``LIMIT_EXCEEDED`` while still queued, which the SDK turns into an error on every
    subscription of the socket)."""
    create_messages(admin)
    uids = [f"r{n}" for n in range(100)]
    frames = [
        {"type": "subscribe", "collection": "messages", "query": {"fields": "id"}, "uid": uid} for uid in uids * 2
    ]
    with WS(f"{server.ws_url}?access_token={ADMIN_TOKEN}") as ws:
        sender = threading.Thread(target=_send_all, args=(ws, frames), daemon=True)
        sender.start()
        replies = [ws.recv(timeout=10) for _ in frames]
        sender.join(10)
        assert [reply["error"] for reply in replies if "error" in reply] == []
        assert sorted(reply["uid"] for reply in replies) == sorted(uids * 2)
        key = ok(admin.post("/items/messages", json={"text": "after the reconnect"}))["id"]
        events = [ws.recv() for _ in uids]
        assert sorted((event["uid"], event["data"][0]["id"]) for event in events) == sorted((u, key) for u in uids)


@pytest.mark.long  # a soak: 3000 frames, three times the send queue (make test-long)
def test_three_thousand_pipelined_subscribes_end_with_clear_errors(server: LiveServer, admin: httpx.Client) -> None:
    create_messages(admin)
    total, cap = 3000, 100
    with WS(f"{server.ws_url}?access_token={ADMIN_TOKEN}") as ws:
        frames = [{"type": "subscribe", "collection": "messages", "uid": f"p{n}"} for n in range(total)]
        sender = threading.Thread(target=_send_all, args=(ws, frames), daemon=True)
        sender.start()
        replies = [ws.recv(timeout=30) for _ in range(total)]
        sender.join(30)
        inits = [r["uid"] for r in replies if r.get("event") == "init"]
        refused = [r for r in replies if r.get("status") == "error"]
        assert inits == [f"p{n}" for n in range(cap)]
        assert [r["uid"] for r in refused] == [f"p{n}" for n in range(cap, total)]
        assert all(r["error"] == LIMIT_EXCEEDED for r in refused)
        assert ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r"})["uid"] == "r"


@pytest.mark.long  # a soak: 3000 frames, three times the send queue (make test-long)
def test_three_thousand_pipelined_reads_are_all_answered(server: LiveServer, admin: httpx.Client) -> None:
    """Replies made by the lanes wait for room too: a client that reads is never closed for its backlog."""
    create_messages(admin)
    ok(admin.post("/items/messages", json=[{"text": "x" * 200} for _ in range(20)]))
    total = 3000
    with WS(f"{server.ws_url}?access_token={ADMIN_TOKEN}") as ws:
        frames = [{"type": "items", "collection": "messages", "action": "read", "uid": n} for n in range(total)]
        sender = threading.Thread(target=_send_all, args=(ws, frames), daemon=True)
        sender.start()
        replies = [ws.recv(timeout=30) for _ in range(total)]
        sender.join(30)
        answered = [r["uid"] for r in replies if r.get("type") == "items" and "data" in r]
        refused = [r for r in replies if r.get("status") == "error"]
        assert answered == sorted(answered) and len(answered) + len(refused) == total
        assert all(r["error"]["code"] == "REQUESTS_EXCEEDED" for r in refused)
        assert ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r"})["uid"] == "r"
