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
from typing import Any

import httpx
import pytest

from tests.e2e.node import CHROMIUM, E2E, finish, node, require
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOKEN
from tests.support.process import ROOT, spawn, started

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
    assert result["dialogFocus"] == "collection", "the dialog did not take the focus"
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
    assert result["viewAs"] == TEXTS
    assert "You are signed in as ann@example.com, but none of your policies grants app access" in result["noAccess"]
    shots = sorted(p.name for p in SHOTS.glob("[0-9][0-9]-*.png"))
    assert len(shots) == len(result["steps"]) == 16, shots


def _check_what_the_studio_made(url: str, token: str) -> None:
    """Over REST: the browser's clicks made the seed guide's schema, access and token, nothing more."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
        found = admin.get("/users", params={"filter": json.dumps({"email": {"_eq": "ann@example.com"}})})
        ann_id = found.json()["data"][0]["id"]
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
        assert ann.get("/users/me").json()["data"]["id"] == ann_id  # without app access she reads only her id
        assert [m["text"] for m in ann.get("/items/messages", params={"sort": "id"}).json()["data"]] == TEXTS
        assert ann.patch("/items/messages/1", json={"text": "edited"}).status_code == 403  # read + create only


class LiveTable:
    """The Studio's content table in headless Chromium (studio_live.mjs), kept open across server restarts."""

    def __init__(self, url: str, stderr: Path) -> None:
        with stderr.open("w") as sink:
            self.process = subprocess.Popen(
                [str(node()), str(E2E / "studio_live.mjs"), url, "messages", ADMIN_EMAIL, ADMIN_PASSWORD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
                cwd=E2E,
            )
        self.stderr = stderr

    def step(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"studio_live.mjs ended: {self.stderr.read_text()}"
        step: dict[str, Any] = json.loads(line)
        return step

    def refresh(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"refresh": True}) + "\n")
        self.process.stdin.flush()
        step = self.step()
        assert step["step"] == "refreshed", step
        return step

    def settle(self, expected: list[str]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"expect": expected}) + "\n")
        self.process.stdin.flush()
        step = self.step()
        assert step["step"] == "settled", f"the table shows {step['shown']}, not {expected}"
        return step


def _texts(url: str) -> list[str]:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
        response = admin.get("/items/messages", params={"sort": "id", "limit": "-1"})
    return [row["text"] for row in response.json()["data"]]


def _write(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
        admin.request(method, path, json=body).raise_for_status()


@pytest.mark.long  # ~50 s on a loaded machine: `make test-long` and `make test-studio` run it
def test_the_live_table_resumes_with_since_after_a_server_restart(tmp_path: Path) -> None:
    """The table stays open while its server is killed; another process on the same database takes creates,
    an update and a delete. The server comes back on the same port: the Studio reconnects by itself,
    subscribes with ``since`` (the seq it last applied), and shows exactly the database's rows, without a
    reload; a write after that arrives live, and so does one after a session refresh (which replaces the
    socket)."""
    require(E2E / "node_modules" / "playwright-core", "playwright-core")
    require(CHROMIUM, "Debian chromium")
    env = {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "tidepool.db")}
    server = spawn(env, log=tmp_path / "server.log")
    table: LiveTable | None = None
    try:
        _write(server.url, "POST", "/collections", SEED_COLLECTION)
        for text in ("one", "two", "three"):
            _write(server.url, "POST", "/items/messages", {"text": text, "user": "admin"})
        table = LiveTable(f"{server.url}/admin/", tmp_path / "node.err")
        ready = table.step()
        assert ready["shown"] == ["one", "two", "three"]
        server.kill()
        with started(env) as other:
            _write(other.url, "POST", "/items/messages", {"text": "written while the Studio's server was down"})
            _write(other.url, "PATCH", "/items/messages/1", {"text": "one, edited"})
            _write(other.url, "DELETE", "/items/messages/2")
        server = spawn(env, port=server.port, log=server.log)
        resumed = table.settle(_texts(server.url))
        _write(server.url, "POST", "/items/messages", {"text": "written after it came back"})
        live = table.settle(_texts(server.url))
        refreshed = table.refresh()
        _write(server.url, "POST", "/items/messages", {"text": "written after a session refresh"})
        after_refresh = table.settle(_texts(server.url))
    finally:
        if table is not None:
            finish(table.process, 15)
        server.kill()
    assert resumed["shown"] == ["one, edited", "three", "written while the Studio's server was down"]
    first, again = resumed["subscribes"][0], resumed["subscribes"][-1]
    assert "since" not in first and isinstance(again.get("since"), int), resumed["subscribes"]
    assert again["collection"] == "messages"
    assert live["shown"][-1] == "written after it came back" and live["status"] == "live"
    assert live["notReloaded"], "the Studio was reloaded"
    # A session refresh ends the old cookie's socket (4401): the Studio opens the next one with since at once.
    last = refreshed["subscribes"][-1]
    assert len(refreshed["subscribes"]) == len(live["subscribes"]) + 1 and isinstance(last.get("since"), int)
    assert after_refresh["shown"][-1] == "written after a session refresh" and after_refresh["notReloaded"]


SEED_COLLECTION = {
    "collection": "messages",
    "schema": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "date_created", "type": "timestamp", "meta": {"special": ["date-created"], "readonly": True}},
        {"field": "text", "type": "string"},
        {"field": "user", "type": "string"},
    ],
}


@pytest.mark.long  # ~25 s: `make test-long` and `make test-studio` run it
def test_the_studio_models_edits_filters_and_grants(tmp_path: Path) -> None:
    """Beyond the seed guide (studio_model.mjs): a UUID-keyed collection with every optional system field, an
    m2o and its o2m, the item editor's errors next to their fields, a filter, a custom permission, on a server
    whose WebSocket is not at /websocket; then checks over REST what the clicks made."""
    require(E2E / "node_modules" / "playwright-core", "playwright-core")
    require(CHROMIUM, "Debian chromium")
    # A WebSocket path of its own: the Studio finds it in /server/info.
    env = {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "tidepool.db"), "WEBSOCKETS_REST_PATH": "/live"}
    with started(env, log=tmp_path / "server.log") as server:
        done = subprocess.run(
            [str(node()), str(E2E / "studio_model.mjs"), f"{server.url}/admin/", ADMIN_EMAIL, ADMIN_PASSWORD, SHOTS],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=E2E,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
            posts = admin.get("/items/posts").json()["data"]
            relations = admin.get("/relations").json()["data"]
            comments = admin.get("/items/comments").json()["data"]
            rows = admin.get("/permissions", params={"filter": json.dumps({"collection": {"_eq": "posts"}})}).json()
    assert result["failures"] == []
    kinds = dict(map(tuple, result["postsFields"]))
    assert kinds["id"] == "uuid" and kinds["user_created"] == "m2o → directus_users"
    assert kinds["comments"] == "o2m ← comments.post"
    assert set(kinds) >= {"status", "sort", "date_created", "date_updated", "user_created", "user_updated"}
    assert result["requiredError"] == "Value is required."
    assert result["jsonError"] == "This is not valid JSON."
    assert json.loads(result["filterJson"]) == {"title": {"_contains": "Edited"}}
    assert [(p["title"], p["status"], p["views"], p["data"]) for p in posts] == [
        ("Edited post", "published", 12, {"a": 1})
    ]
    assert posts[0]["user_created"] is not None and posts[0]["date_updated"] is not None
    assert [c["post"] for c in comments] == [posts[0]["id"]]  # picked by title in the m2o select
    post = next(r for r in relations if (r["collection"], r["field"]) == ("comments", "post"))
    assert post["related_collection"] == "posts" and post["meta"]["one_field"] == "comments"
    rule = {"user_created": {"_eq": "$CURRENT_USER"}}
    assert json.loads(result["ruleJson"]) == rule
    [update] = rows["data"]
    assert (update["action"], update["fields"], update["permissions"]) == ("update", ["title"], rule)
