"""A real browser opens the example chat page (the Directus WebSocket guide's script) served by Tidepool
at /examples/chat/ and runs the guide's steps."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.node import CHROMIUM, E2E, finish, node, require
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import seed_guide

pytestmark = pytest.mark.browser


def test_example_page_runs_the_guide_in_chromium(tmp_path: Path) -> None:
    require(E2E / "node_modules" / "playwright-core", "playwright-core")
    require(CHROMIUM, "Debian chromium")
    with scratch_database(tmp_path, "sqlite3") as db_env, live_server({**db_env, "EXAMPLES_ENABLED": "true"}) as server:
        with server.client() as admin:
            seed = seed_guide(admin)
            admin.post("/items/messages", json={"text": "already there", "user": "admin"}).raise_for_status()
        page = f"{server.url}/examples/chat/?access_token={seed.token}"
        result = subprocess.run(
            [str(node()), str(E2E / "browser_flow.mjs"), page, server.url, seed.token],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=E2E,
        )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    log = [json.loads(line) for line in output["log"]]
    assert log[0] == {"event": "onopen"}
    assert log[1] == "auth ok"
    init = log[2]
    assert init["event"] == "init" and [m["text"] for m in init["data"]] == ["already there"]
    creates = [entry["data"][0]["text"] for entry in log if isinstance(entry, dict) and entry.get("event") == "create"]
    assert creates == ["typed in the browser", "sent over REST"]
    items = [entry for entry in log if isinstance(entry, dict) and entry.get("event") == "items"]
    assert items[0]["data"]["text"] == "typed in the browser"  # the reply to the page's own create
    assert [m["text"] for m in items[-1]["data"]] == ["sent over REST"]  # readLatestItem
    assert output["shown"] == ["admin: already there", "guest: typed in the browser", "rest: sent over REST"]


class PageSession:
    """The example page in headless Chromium (browser_resume.mjs), kept open across server restarts: it
    reports what the page shows, and waits until the page shows what the test expects."""

    def __init__(self, stderr: Path) -> None:
        self.stderr = stderr
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> PageSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, page_url: str) -> dict[str, Any]:
        """Open the page; return what it shows once subscribed."""
        with self.stderr.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(node()), str(E2E / "browser_resume.mjs"), page_url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=E2E,
            )
        return self.step()

    def step(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"browser_resume.mjs ended: {self.stderr.read_text()}"
        step: dict[str, Any] = json.loads(line)
        return step

    def settle(self, expected: list[str]) -> dict[str, Any]:
        """What the page shows once it shows ``expected`` (or after 30 s of not doing so)."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps({"expect": expected}) + "\n")
        self.process.stdin.flush()
        step = self.step()
        assert step["step"] == "settled", f"the page shows {step['shown']}, not {expected}; its log: {step['log']}"
        return step

    def close(self) -> None:
        if self.process is None:
            return
        finish(self.process, 15)


def database_messages(server: LiveServer) -> list[str]:
    """Every stored message as the page shows it, in the page's order."""
    with server.client() as admin:
        response = admin.get("/items/messages", params={"sort": "date_created,id", "limit": "-1"})
    response.raise_for_status()
    return [f"{row['user']}: {row['text']}" for row in response.json()["data"]]


# WEBSOCKETS_RESUME_LIMIT of the returning server → (inits, resumes) the page has seen once back: with 2,
# the four changes made while it was away are too many to replay, so it is answered a fresh init instead.
ANSWERS = {"1000": (1, 1), "2": (2, 0)}


@pytest.mark.parametrize("resume_limit", ANSWERS)
def test_example_page_resumes_with_since_after_a_server_restart(tmp_path: Path, resume_limit: str) -> None:
    """The page stays open while its server is down; meanwhile another server on the same database takes
    REST writes (creates, an update, a delete). Its server comes back on the same port: the page reconnects
    by itself, subscribes with ``since`` (the seq it last applied), is answered ``resume`` and the changes it
    missed (keeping what it holds) or, when the log cannot answer, an ``init`` (replacing what it holds), and
    ends showing exactly the database's messages, each once, without a reload."""
    require(E2E / "node_modules" / "playwright-core", "playwright-core")
    require(CHROMIUM, "Debian chromium")
    with scratch_database(tmp_path, "sqlite3") as db_env, PageSession(tmp_path / "node.err") as page:
        env = {**db_env, "EXAMPLES_ENABLED": "true"}
        with live_server(env) as server:
            port = server.port
            with server.client() as admin:
                seed = seed_guide(admin)
                keys = [_create(admin, text, "admin") for text in ("one", "two", "three")]
            shown = page.open(f"{server.url}/examples/chat/?access_token={seed.token}")
        # The page's server is stopped: another one on the same database takes the writes meanwhile.
        assert shown["shown"] == ["admin: one", "admin: two", "admin: three"], shown
        with live_server(env) as other, other.client(seed.token) as user, other.client() as admin:
            _create(user, "written while the page's server was down", "ann")
            admin.patch(f"/items/messages/{keys[0]}", json={"text": "one, edited"}).raise_for_status()
            admin.delete(f"/items/messages/{keys[1]}").raise_for_status()
            _create(user, "also written while it was down", "ann")
        with live_server({**env, "WEBSOCKETS_RESUME_LIMIT": resume_limit}, port=port) as server:
            resumed = page.settle(database_messages(server))
            with server.client(seed.token) as user:
                _create(user, "written after the page came back", "ann")
            live = page.settle(database_messages(server))
    # One reconnect, subscribing with since = the seq of the last frame applied (the init's), answered resume.
    assert resumed["chat"]["subscribed"] == [None, shown["chat"]["seq"]], resumed["chat"]
    assert (resumed["chat"]["inits"], resumed["chat"]["resumes"]) == ANSWERS[resume_limit], resumed["chat"]
    assert resumed["shown"] == [
        "admin: one, edited",
        "admin: three",
        "ann: written while the page's server was down",
        "ann: also written while it was down",
    ]
    assert live["shown"][-1] == "ann: written after the page came back" and len(set(live["shown"])) == 5
    assert live["chat"]["seq"] > resumed["chat"]["seq"] > shown["chat"]["seq"]
    assert live["notReloaded"], "the page was reloaded"


def _create(client: httpx.Client, text: str, user: str) -> int:
    response = client.post("/items/messages", json={"text": text, "user": user})
    response.raise_for_status()
    key: int = response.json()["data"]["id"]
    return key
