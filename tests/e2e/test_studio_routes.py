"""A Studio screen whose answer comes late does not replace the screen opened after it.

Signing in opens the content index, which waits for ``GET /collections``; a click (or a link) to a
collection's table meanwhile opens the table. When the index's answer came after the table was drawn (a
loaded machine), the index was drawn over the table: the table was gone while the socket stayed live, and
``test_the_live_table_resumes_with_since_after_a_server_restart`` waited 45 s for a first row that had been
drawn and then removed (its only failure, once under ``make test-long``). Here the browser holds that answer
until the table shows, then lets it through: the table must stay, and stay live.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.node import CHROMIUM, E2E, finish, node, require
from tests.e2e.test_studio import SEED_COLLECTION
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOKEN
from tests.support.process import started

pytestmark = pytest.mark.browser


def _write(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
        admin.request(method, path, json=body).raise_for_status()


def _step(process: subprocess.Popen[str], stderr: Path) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"studio_stale_route.mjs ended: {stderr.read_text()}"
    found: dict[str, Any] = json.loads(line)
    return found


def test_a_late_answer_of_the_first_screen_does_not_replace_the_table(tmp_path: Path) -> None:
    require(E2E / "node_modules" / "playwright-core", "playwright-core")
    require(CHROMIUM, "Debian chromium")
    env = {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "tidepool.db")}
    stderr = tmp_path / "node.err"
    with started(env, log=tmp_path / "server.log") as server:
        _write(server.url, "POST", "/collections", SEED_COLLECTION)
        _write(server.url, "POST", "/items/messages", {"text": "one", "user": "admin"})
        with stderr.open("w") as sink:
            process = subprocess.Popen(
                [str(node()), str(E2E / "studio_stale_route.mjs"), f"{server.url}/admin/", "messages"]
                + [ADMIN_EMAIL, ADMIN_PASSWORD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
                cwd=E2E,
            )
        try:
            assert _step(process, stderr)["step"] == "held"
            _write(server.url, "POST", "/items/messages", {"text": "two", "user": "admin"})
            assert process.stdin is not None
            process.stdin.write(json.dumps({"expect": ["one", "two"]}) + "\n")
            process.stdin.flush()
            settled = _step(process, stderr)
        finally:
            finish(process, 15)
    assert settled["heading"] != "Content", "the content index was drawn over the table"
    assert settled["step"] == "settled", settled
