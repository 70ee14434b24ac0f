"""Another process holds SQLite's write lock longer than ``DB_SQLITE_BUSY_TIMEOUT``: a ``sqlite3`` shell that ran
``BEGIN IMMEDIATE`` on the server's database file and waits.

Every write meanwhile (REST POST, PATCH and DELETE; a WebSocket ``items`` create) is answered, within about
the timeout, with Directus's 503 ``SERVICE_UNAVAILABLE`` naming the lock (the socket stays open and usable);
nothing of it is stored and no event is delivered for it. Reads go on. Once the shell lets go, the next
write commits and its event is the one a subscriber hears. Before: each write waited the hard-coded 30 s and
was answered 500 ``INTERNAL_SERVER_ERROR`` with a traceback in the log.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.servers import NO_HEARTBEAT

pytestmark = pytest.mark.skipif(shutil.which("sqlite3") is None, reason="needs the sqlite3 shell")

BUSY = 0.5  # DB_SQLITE_BUSY_TIMEOUT of the server under test, in seconds
REASON = "The database is locked by another writer; try again"
LOCKED = f'Service "database" is unavailable. {REASON}.'
NOTES = {
    "collection": "notes",
    "schema": {},
    "meta": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "text", "type": "string", "schema": {}},
    ],
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("sqlite-lock")
    env = {"DB_SQLITE_BUSY_TIMEOUT": str(BUSY), **NO_HEARTBEAT}
    with scratch_database(tmp, "sqlite3") as db_env, live_server({**db_env, **env}) as server:
        with server.client() as admin:
            assert admin.post("/collections", json=NOTES).status_code == 200
            assert admin.post("/items/notes", json={"text": "kept"}).status_code == 200
        yield server


class Shell:
    """The ``sqlite3`` command-line shell on the server's file, holding the write lock until ``release``."""

    def __init__(self, path: str) -> None:
        self.process = subprocess.Popen(
            ["sqlite3", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("BEGIN IMMEDIATE;\nSELECT 'held';\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "held"

    def release(self) -> None:
        self.process.communicate("ROLLBACK;\n.quit\n", timeout=10)


def test_a_write_that_waits_past_the_busy_timeout_is_a_503_and_writes_nothing(srv: LiveServer) -> None:
    with srv.client() as admin:
        [kept] = admin.get("/items/notes").json()["data"]
    listener = WS(srv.ws_url)
    writer = WS(srv.ws_url)
    with listener, writer:
        assert listener.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        assert writer.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        listener.send({"type": "subscribe", "collection": "notes", "query": {"fields": ["*"]}, "uid": "s"})
        assert listener.recv_until(lambda f: f.get("event") == "init")["data"] == [kept]
        shell = Shell(str(srv.runtime.engine.url.database))
        try:
            answers, took = [], []
            with srv.client() as admin:
                for method, path, body in (
                    ("POST", "/items/notes", {"text": "while locked"}),
                    ("PATCH", f"/items/notes/{kept['id']}", {"text": "changed while locked"}),
                    ("DELETE", f"/items/notes/{kept['id']}", None),
                ):
                    began = time.monotonic()
                    reply = admin.request(method, path, json=body)
                    took.append(time.monotonic() - began)
                    answers.append((reply.status_code, reply.json()))
                assert admin.get("/items/notes").json()["data"] == [kept]  # reads go on
            began = time.monotonic()
            message = {"type": "items", "collection": "notes", "action": "create", "data": {"text": "ws"}, "uid": "w"}
            ws_reply = writer.request(message, timeout=30)
            took.append(time.monotonic() - began)
        finally:
            shell.release()
        error = {
            "message": LOCKED,
            "extensions": {"service": "database", "reason": REASON, "code": "SERVICE_UNAVAILABLE"},
        }
        assert answers == [(503, {"errors": [error]})] * 3
        assert ws_reply == {
            "type": "items",
            "status": "error",
            "error": {"code": "SERVICE_UNAVAILABLE", "message": LOCKED},
            "uid": "w",
        }
        assert all(seconds < BUSY * 10 for seconds in took), took  # bounded by the timeout, not 30 s
        listener.quiet(0.3)  # no event for a write that did not happen
        created = writer.request({**message, "data": {"text": "after"}, "uid": "after"})  # the socket still works
        assert created.get("status") != "error" and created["data"]["text"] == "after", created
        event = listener.recv_until(lambda f: f.get("event") == "create")
        assert event["data"] == [{"id": created["data"]["id"], "text": "after"}]
    with srv.client() as admin:
        stored = admin.get("/items/notes", params={"sort": "id"}).json()["data"]
    assert stored == [kept, {"id": created["data"]["id"], "text": "after"}]
