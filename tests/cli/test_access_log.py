"""The server's log never shows an ``?access_token=`` value (issue 7 #15): the access log and the WebSocket
lines of uvicorn print ``--redacted--`` in its place, as Directus's logger does."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN
from tests.support.process import started


def test_access_tokens_in_urls_are_redacted_in_the_log(tmp_path: Path) -> None:
    env = {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "log.db"), "LOG_LEVEL": "debug"}
    with started(env) as server:
        jwt = httpx.post(
            f"{server.url}/auth/login", json={"email": "admin@example.com", "password": "admin-pass"}
        ).json()["data"]["access_token"]
        for token in (ADMIN_TOKEN, jwt):
            assert httpx.get(f"{server.url}/server/info", params={"x": "1", "access_token": token}).status_code == 200
        ws_url = server.url.replace("http", "ws") + f"/websocket?access_token={ADMIN_TOKEN}"
        with WS(ws_url) as ws:
            assert ws.request({"type": "ping"})["type"] == "pong"
        out, err = server.stop()
    log = out + err
    assert "GET /server/info?x=1&access_token=--redacted-- HTTP/1.1" in log, log
    assert "/websocket?access_token=--redacted--" in log, log
    assert ADMIN_TOKEN not in log
    assert jwt not in log
