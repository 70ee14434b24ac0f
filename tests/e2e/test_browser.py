"""A real browser opens the example chat page (the Directus WebSocket guide's script) served by Tidepool
at /examples/chat/ and runs the guide's steps."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.node import CHROMIUM, E2E, node, require
from tests.support.live import live_server, scratch_database
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
