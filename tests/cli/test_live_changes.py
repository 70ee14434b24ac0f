"""The README's quick start, done literally: a server is running, then the CLI (another process) creates the
collection, the role, the grant and the user on the same database; within a second or two the user's token
works over REST and over a WebSocket, without a restart (issue 7, item 17).

Runs on SQLite by default and on PostgreSQL / MariaDB with ``TIDEPOOL_TEST_DB``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, base_env, live_server, scratch_database


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """``tidepool ARGS`` as a separate process on the server's database (as a user types it)."""
    done = subprocess.run(
        [sys.executable, "-m", "tidepool", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _eventually(check: object, timeout: float) -> float:
    """Seconds until ``check()`` is true (bounded by ``timeout``)."""
    start = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not seen within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def running(tmp_path: Path) -> tuple[LiveServer, dict[str, str]]:  # type: ignore[misc]
    with scratch_database(tmp_path) as db_env, live_server(db_env) as server:
        yield server, {**base_env(), **db_env}


def test_quick_start_cli_changes_reach_a_running_server(
    running: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    server, env = running
    with server.client() as admin:
        assert admin.get("/items/messages").status_code == 403  # the server has read the schema before
    _cli(env, tmp_path, "collections", "create", "messages", "--field", "text:string", "--field", "user:string",
         "--date-created")  # fmt: skip
    _cli(env, tmp_path, "roles", "create", "Chatters")
    _cli(env, tmp_path, "permissions", "grant", "--role", "Chatters", "--collection", "messages", "--action",
         "read,create")  # fmt: skip
    out = _cli(env, tmp_path, "users", "create", "--email", "ann@example.com", "--password", "secret", "--role",
               "Chatters", "--token")  # fmt: skip
    token = out.strip().splitlines()[-1].removeprefix("static token: ")

    with server.client(token=token) as ann:
        _eventually(lambda: ann.get("/items/messages").status_code == 200, 2.0)
        created = ann.post("/items/messages", json={"text": "Hello", "user": "ann"})
        assert created.status_code == 200, created.text
        assert [m["text"] for m in ann.get("/items/messages").json()["data"]] == ["Hello"]

    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        init = ws.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["*"]}, "uid": "chat"})
        assert init["event"] == "init" and [m["text"] for m in init["data"]] == ["Hello"]
        ws.send({"type": "items", "collection": "messages", "action": "create", "data": {"text": "Hi"}, "uid": "c1"})
        frames = [ws.recv(), ws.recv()]
        reply = next(f for f in frames if f["type"] == "items")
        event = next(f for f in frames if f["type"] == "subscription")
        assert reply["data"]["text"] == "Hi" and event["event"] == "create" and event["data"][0]["text"] == "Hi"
        read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r1"})
        assert [m["text"] for m in read["data"]] == ["Hello", "Hi"]


def test_a_revoked_grant_from_the_cli_reaches_a_running_server(
    running: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    """The other direction: a token the server has already cached stops working once the CLI changes it."""
    server, env = running
    _cli(env, tmp_path, "collections", "create", "messages", "--field", "text:string")
    _cli(env, tmp_path, "roles", "create", "Chatters")
    _cli(env, tmp_path, "permissions", "grant", "--role", "Chatters", "--collection", "messages", "--action", "read")
    out = _cli(env, tmp_path, "users", "create", "--email", "ann@example.com", "--role", "Chatters", "--token")
    token = out.strip().splitlines()[-1].removeprefix("static token: ")
    with server.client(token=token) as ann:
        _eventually(lambda: ann.get("/items/messages").status_code == 200, 2.0)
        new_token = _cli(env, tmp_path, "users", "token", "ann@example.com").strip()
        _eventually(lambda: ann.get("/items/messages").status_code == 401, 2.0)
    with server.client(token=new_token) as ann:
        assert ann.get("/items/messages").status_code == 200
