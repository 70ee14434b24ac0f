"""Clients that go away in the middle of a write: a REST client that closes its TCP socket right after sending a
POST, PATCH or DELETE (a FIN, or a reset), and a WebSocket that closes right after sending an ``items`` create,
update or delete (with a close frame, or by dropping the TCP connection). Nobody hears the answer, so what
matters is what the server did:

- every such write either committed or did not, whole: the subscriber's model (built from the events alone)
  ends equal to what the database holds, so a write that committed had its event delivered and a write that
  did not commit had none (an event for a create that never committed would leave an extra row, for an update
  a text the row does not hold);
- events arrive numbered in order, each once;
- the server logs no traceback and no error for a client that left, and serves the next request as usual.

Runs on SQLite, PostgreSQL and MariaDB (real ``tidepool start`` processes, ``tests/faults/harness.py``).
"""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.faults.harness import EVENTS, Cluster, Subscriber, _open, cluster, wait_until
from tests.support.live import ADMIN_TOKEN

pytestmark = pytest.mark.faults

ROUNDS = 12  # disconnects per kind of write and way of leaving
TARGETS = ROUNDS * 4  # rows the updates and deletes go to


def _abrupt_http(url: str, method: str, path: str, body: dict[str, object] | None, reset: bool) -> None:
    """Send one whole request and close the socket at once, before any answer: with a FIN, or a reset."""
    parts = urlsplit(url)
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=5)
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(head + payload)
    sock.close()


def _abrupt_ws(url: str, message: dict[str, object], reset: bool) -> None:
    """An authenticated socket that sends one ``items`` message and goes away at once: a close frame right
    behind it, or the TCP connection reset with no close frame."""
    conn = _open(url)
    if reset:
        conn.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.send(json.dumps(message))
        conn.socket.close()
        return
    conn.send(json.dumps(message))
    conn.close()


def _rest(group: Cluster) -> httpx.Client:
    return httpx.Client(base_url=group.servers[0].url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)


def _targets(admin: httpx.Client) -> list[int]:
    keys = []
    for n in range(TARGETS):
        reply = admin.post("/items/messages", json={"text": f"target-{n}#0"})
        assert reply.status_code == 200, reply.text
        keys.append(int(reply.json()["data"]["id"]))
    return keys


def _leave_mid_writes(group: Cluster, keys: list[int]) -> None:
    """``ROUNDS`` creates, updates and deletes per way of leaving (REST FIN, REST reset, WebSocket close
    frame, WebSocket reset), each sent and abandoned at once."""
    url, ws = group.servers[0].url, group.servers[0].ws_url
    targets = iter(keys)
    for n in range(ROUNDS):
        for way, reset in (("rest", False), ("rest-reset", True), ("ws", False), ("ws-reset", True)):
            updated, deleted = next(targets), None
            if n % 2:
                deleted = updated
            text = f"gone-{way}-{n}"
            if way.startswith("rest"):
                _abrupt_http(url, "POST", "/items/messages", {"text": f"{text}#0"}, reset)
                if deleted is None:
                    _abrupt_http(url, "PATCH", f"/items/messages/{updated}", {"text": f"{text}#1"}, reset)
                else:
                    _abrupt_http(url, "DELETE", f"/items/messages/{deleted}", None, reset)
                continue
            base = {"type": "items", "collection": "messages", "uid": text}
            _abrupt_ws(ws, {**base, "action": "create", "data": {"text": f"{text}#0"}}, reset)
            if deleted is None:
                _abrupt_ws(ws, {**base, "action": "update", "id": updated, "data": {"text": f"{text}#1"}}, reset)
            else:
                _abrupt_ws(ws, {**base, "action": "delete", "id": deleted}, reset)


@pytest.mark.parametrize("engine", ["sqlite3", "pg", pytest.param("mysql", id="mariadb")])
def test_a_client_gone_mid_write_leaves_the_write_whole_and_its_event_iff_it_committed(
    tmp_path: Path, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with cluster(tmp_path, engine, processes=1, redis=False) as group:
        with _rest(group) as admin:
            keys = _targets(admin)
        sub = Subscriber("s", group.ws_urls())
        sub.start()
        assert sub.subscribed.wait(15), sub.errors
        _leave_mid_writes(group, keys)
        with _rest(group) as admin:  # the server still answers, and this write's event comes last
            last = admin.post("/items/messages", json={"text": "after#0"})
        assert last.status_code == 200, last.text
        last_key = int(last.json()["data"]["id"])
        time.sleep(1.0)  # the abandoned writes still running finish (their events follow)
        database = group.rows()
        wait_until(lambda: sub.state() == database, 20, "the subscriber to hold what the database holds")
        sub.stop.set()
        sub.join(10)
        log = group.servers[0].output()
    events = [frame.body for frame in sub.frames if frame.body.get("event") in EVENTS]
    seqs = [body["seq"] for body in events]
    gone = [text for text in database.values() if text.startswith("gone-")]
    with capsys.disabled():
        print(
            f"\n== clients gone mid-write ({engine}): {len(gone)} of their writes' rows/texts in the database, "
            f"{len(events)} events, {len(database)} rows"
        )
    assert last_key in database
    assert seqs == sorted(set(seqs)), "events out of order or duplicated"
    assert sub.errors == [], sub.errors
    assert sub.state() == database
    for bad in ("Traceback", "ERROR", "Exception in ASGI"):
        assert bad not in log, log[-6000:]
