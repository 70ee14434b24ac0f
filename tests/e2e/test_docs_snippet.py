"""The plain-JS reconnect loop printed in docs/websocket.md ("Reconnecting without missing a change") runs as
printed, in Node 22, across a server restart: it resubscribes with ``since`` and ends holding exactly the
database's rows, including the changes made while it was away. A snippet that rots fails here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.node import E2E, NODE, ROOT, finish, require
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import seed_guide

pytestmark = pytest.mark.node

SECTION = "## Reconnecting without missing a change"


def documented_snippet() -> str:
    section = (ROOT / "docs" / "websocket.md").read_text().split(SECTION, 1)[1]
    return section.split("```js\n", 1)[1].split("```", 1)[0]


class Snippet:
    """The snippet with the test harness appended (snippet_harness.mjs), run by Node 22."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Snippet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, port: int, token: str) -> None:
        code = documented_snippet().replace("127.0.0.1:8055", f"127.0.0.1:{port}").replace("ann-static-token", token)
        self.script.write_text(code + (E2E / "snippet_harness.mjs").read_text())
        self.process = subprocess.Popen(
            [str(require(NODE, "Node 22")), str(self.script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def settle(self, expected: list[str]) -> dict[str, Any]:
        """What the snippet holds once it holds ``expected`` (or after 30 s of not doing so)."""
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"expect": expected}) + "\n")
        self.process.stdin.flush()
        state: dict[str, Any] = json.loads(self.process.stdout.readline() or "null")
        assert state is not None, "the snippet's process ended"
        assert state["rows"] == expected, state
        return state

    def close(self) -> None:
        if self.process is None:
            return
        finish(self.process, 10)


def texts(server: LiveServer) -> list[str]:
    with server.client() as admin:
        response = admin.get("/items/messages", params={"sort": "id", "limit": "-1"})
    response.raise_for_status()
    return [row["text"] for row in response.json()["data"]]


def test_the_documented_reconnect_loop_resumes_with_since(tmp_path: Path) -> None:
    assert "since" in documented_snippet()
    with scratch_database(tmp_path, "sqlite3") as env, Snippet(tmp_path / "snippet.mjs") as snippet:
        with live_server(env) as server:
            port = server.port
            with server.client() as admin:
                seed = seed_guide(admin)
                keys = [_create(admin, text) for text in ("one", "two", "three")]
            snippet.start(port, seed.token)
            before = snippet.settle(["one", "two", "three"])
        with live_server(env) as other, other.client() as admin:  # the snippet's server is down meanwhile
            _create(admin, "while away")
            admin.patch(f"/items/messages/{keys[0]}", json={"text": "one, edited"}).raise_for_status()
            admin.delete(f"/items/messages/{keys[1]}").raise_for_status()
        with live_server(env, port=port) as server:
            after = snippet.settle(texts(server))
    assert after["rows"] == ["one, edited", "three", "while away"]
    assert after["subscribed"] == [None, before["since"]], after


def _create(client: httpx.Client, text: str) -> int:
    response = client.post("/items/messages", json={"text": text, "user": "admin"})
    response.raise_for_status()
    key: int = response.json()["data"]["id"]
    return key
