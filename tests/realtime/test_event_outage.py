"""A process's database connection drops just as it must read an event's row for its subscribers: the event
still reaches them once the database answers again, never an error frame in its place.

Two servers share one database and Redis; the subscriber's server reaches the database through a TCP proxy
(``tests/support/proxy.py``) that the test cuts. The other server creates a row: the news (with the numbered
event) arrives over Redis at once, and the dispatcher's re-read of the row meets the cut. Before: the group's
read failed with 503 and the subscriber got ``{"type": "subscribe", "status": "error", ...}`` instead of the
``create`` (the event was lost for it: a committed, acknowledged write without its event). Now the read is
tried again while the database is away (``dispatch.OUTAGE_PAUSES``), and the create arrives once the proxy is
restored. PostgreSQL (MariaDB under ``TIDEPOOL_TEST_DB=mysql``), as ``tests/db/test_outage.py``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.realtime.wsclient import WS
from tests.support import live
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.proxy import TcpProxy, tcp_proxy
from tests.support.seed import seed_messages

ENGINE = live.test_db_client() if live.test_db_client() != "sqlite3" else "pg"
AWAY = 0.6  # seconds the database is cut off from the subscriber's server


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer, TcpProxy]]:
    env = {
        "REDIS": "redis://127.0.0.1:6379/0",
        "REDIS_BUS_NAMESPACE": f"tidepool-test:{uuid.uuid4().hex}",
        "WEBSOCKETS_HEARTBEAT_ENABLED": "false",
    }
    with scratch_database(tmp_path, ENGINE) as db_env, tcp_proxy("127.0.0.1", int(db_env["DB_PORT"])) as proxy:
        with live_server({**db_env, **env}) as writer:
            seed_messages(writer)
            with live_server({**db_env, **env, "DB_PORT": str(proxy.port)}) as reader:
                yield writer, reader, proxy


def test_an_event_read_during_a_database_outage_is_delivered_once_the_database_is_back(
    servers: tuple[LiveServer, LiveServer, TcpProxy],
) -> None:
    writer, reader, proxy = servers
    with WS(reader.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        ws.send({"type": "subscribe", "collection": "messages", "query": {"fields": ["id", "text"]}, "uid": "s"})
        assert ws.recv_until(lambda f: f.get("event") == "init")["type"] == "subscription"
        proxy.cut()
        restore = threading.Timer(AWAY, proxy.restore)
        restore.start()
        try:
            with writer.client() as admin:
                created = admin.post("/items/messages", json={"text": "while away"})
            assert created.status_code == 200, created.text
            key = created.json()["data"]["id"]
            frame = ws.recv(timeout=20)  # the next frame: the create, not an error in its place
        finally:
            restore.join()
        assert frame.get("event") == "create", frame
        assert frame["data"] == [{"id": key, "text": "while away"}]
        ws.quiet(0.3)  # nothing else: no error frame, no second create


# The replay's row read of ``messages`` by key (the event-log read before it names another table): ``IN (…)``,
# or ``= ANY(…)`` on PostgreSQL. The resume asks for other fields than the live subscription did, so the
# statement is new to the connection pool (a cached prepared statement would not carry its text again on
# PostgreSQL). Each test checks that the cut happened (``marker_cut``).
ROW_READ = b"WHERE messages.id "
RESUMED = {"type": "subscribe", "collection": "messages", "query": {"fields": ["*"]}, "uid": "s"}


def _missed_create(writer: LiveServer, reader: LiveServer) -> tuple[int, int]:
    """A row created while a subscription watched, then the subscription ends: (its ``init``'s seq, the key).
    The reader has dispatched the create (its live read is done), and a resume from that seq replays it."""
    with WS(reader.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        ws.send({"type": "subscribe", "collection": "messages", "query": {"fields": ["id", "text"]}, "uid": "s"})
        since = int(ws.recv_until(lambda f: f.get("event") == "init")["seq"])
        with writer.client() as admin:
            created = admin.post("/items/messages", json={"text": "while away"})
        assert created.status_code == 200, created.text
        assert ws.recv_until(lambda f: f.get("event") == "create")["seq"] > since
        assert ws.request({"type": "unsubscribe", "uid": "s"})["event"] == "unsubscribe"
    return since, int(created.json()["data"]["id"])


def _resume(ws: WS, since: int) -> None:
    ws.send({**RESUMED, "since": since})


def _replayed(frames: list[dict[str, Any]], key: int) -> None:
    assert [f.get("event") for f in frames] == ["resume", "create"], frames
    assert [(row["id"], row["text"]) for row in frames[1]["data"]] == [(key, "while away")]


def test_a_resume_whose_row_read_meets_an_outage_replays_the_event_once_the_database_is_back(
    servers: tuple[LiveServer, LiveServer, TcpProxy],
) -> None:
    """Before: the replayed event's row read failed and the resume answered an error frame in its place (the
    event was lost for the resuming client). Now the read is tried again, as a live event's is."""
    writer, reader, proxy = servers
    since, key = _missed_create(writer, reader)
    with WS(reader.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        proxy.cut_on(ROW_READ)
        restore = threading.Timer(AWAY, proxy.restore)
        restore.start()
        try:
            _resume(ws, since)
            frames = [ws.recv(timeout=20), ws.recv(timeout=20)]
        finally:
            restore.join()
        assert proxy.marker_cut.is_set(), "the replay's row read met no outage"
        _replayed(frames, key)
        ws.quiet(0.3)


def test_a_resume_fails_whole_while_the_database_stays_away_and_succeeds_after(
    servers: tuple[LiveServer, LiveServer, TcpProxy],
) -> None:
    """The database stays away past every pause: the resume is refused with ``SERVICE_UNAVAILABLE`` and its
    uid (no ``resume`` without its event, nothing registered); the same ``since`` later replays the event."""
    writer, reader, proxy = servers
    since, key = _missed_create(writer, reader)
    with WS(reader.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        proxy.cut_on(ROW_READ)
        _resume(ws, since)
        refused = ws.recv(timeout=30)
        proxy.restore()
        assert proxy.marker_cut.is_set(), "the replay's row read met no outage"
        assert (refused["type"], refused["status"], refused["uid"]) == ("subscribe", "error", "s"), refused
        assert refused["error"]["code"] == "SERVICE_UNAVAILABLE"
        _resume(ws, since)
        frames = [ws.recv(timeout=20), ws.recv(timeout=20)]
        _replayed(frames, key)
