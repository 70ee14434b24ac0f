"""Tidepool Studio in headless Chromium walks the seed guide against ``tidepool start`` as ``make run`` starts
it (a fresh SQLite file, the first admin, the example pages on): sign in, create ``messages`` with
``date_created`` from the optional system fields and ``text`` and ``user``, a role that may read and create
it, a user of that role and the user's static token; the example chat page then sends three messages with
that token and the Studio's content table, never reloaded, shows them (studio_flow.mjs).

Each step's screenshot is kept under ``.artifacts/studio/`` (gitignored) to be looked at.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.node import CHROMIUM, E2E, node, require
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOKEN
from tests.support.process import ROOT, started

pytestmark = pytest.mark.browser

SHOTS = ROOT / ".artifacts" / "studio"
FIRST_LOAD_LIMIT = 150_000  # bytes: the budget for the Studio's first load
TEXTS = ["Hello from the chat page", "Second message", "Third message"]


def test_the_studio_walks_the_seed_guide_and_shows_the_chat_live(tmp_path: Path) -> None:
    require(E2E / "node_modules" / "playwright-core", "playwright-core")
    require(CHROMIUM, "Debian chromium")
    shutil.rmtree(SHOTS, ignore_errors=True)
    env = {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "tidepool.db"), "EXAMPLES_ENABLED": "true"}
    with started(env, log=tmp_path / "server.log") as server:
        printed = re.search(r"Tidepool Studio: (\S+)", server.output())
        assert printed, server.output()
        studio_url = printed.group(1)
        assert studio_url == f"{server.url}/admin/"
        done = subprocess.run(
            [
                str(node()),
                str(E2E / "studio_flow.mjs"),
                studio_url,
                server.url,
                ADMIN_EMAIL,
                ADMIN_PASSWORD,
                str(SHOTS),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=E2E,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        _check_what_the_studio_made(server.url, result["token"])
    assert result["offsite"] == [], "a request left the machine"
    assert result["failures"] == [], "the page logged errors"
    assert result["firstLoadBytes"] < FIRST_LOAD_LIMIT, result["firstLoadBytes"]
    assert result["badPassword"] == "Invalid user credentials. (INVALID_CREDENTIALS)"
    assert (
        result["duplicateField"]
        == 'Invalid payload. Field "text" already exists in collection "messages". (INVALID_PAYLOAD)'
    )
    assert result["fields"] == ["id", "date_created", "text", "user"]
    assert result["headers"] == ["id", "date_created", "text", "user"]
    assert [row[2:] for row in result["rows"]] == [[text, "ann"] for text in TEXTS]
    assert all(row[1] != "—" for row in result["rows"]), "date_created was not filled in"
    assert result["notReloaded"], "the Studio was reloaded"
    assert "You are signed in as ann@example.com, but none of your policies grants app access" in result["noAccess"]
    shots = sorted(p.name for p in SHOTS.glob("*.png"))
    assert len(shots) == len(result["steps"]) == 14, shots


def _check_what_the_studio_made(url: str, token: str) -> None:
    """Over REST: the browser's clicks made the seed guide's schema, access and token, nothing more."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
        fields = admin.get("/fields/messages").json()["data"]
        specials = {f["field"]: (f["type"], f["meta"]["special"]) for f in fields}
        assert specials["date_created"] == ("timestamp", ["date-created", "cast-timestamp"])
        assert (specials["text"][0], specials["user"][0]) == ("string", "string")
        role = admin.get("/roles", params={"filter": json.dumps({"name": {"_eq": "Chatters"}})}).json()["data"][0]
        links = admin.get("/access", params={"filter": json.dumps({"role": {"_eq": role["id"]}})}).json()["data"]
        policy = links[0]["policy"]
        rows = admin.get("/permissions", params={"filter": json.dumps({"policy": {"_eq": policy}})}).json()["data"]
        assert sorted((r["collection"], r["action"], r["fields"]) for r in rows) == [
            ("messages", "create", ["*"]),
            ("messages", "read", ["*"]),
        ]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as ann:
        assert ann.get("/users/me").json()["data"]["email"] == "ann@example.com"
        assert [m["text"] for m in ann.get("/items/messages", params={"sort": "id"}).json()["data"]] == TEXTS
        assert ann.patch("/items/messages/1", json={"text": "edited"}).status_code == 403  # read + create only
