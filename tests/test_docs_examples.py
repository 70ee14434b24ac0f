"""The documentation's request/answer examples, run against a live server, so a doc cannot drift from the code.

Every fenced code block in ``docs/*.md`` is either run or listed in ``SKIPPED`` with the reason. A block runs
when the line before it is a marker comment, ``<!-- run: KIND [COLLECTION] -->``:

- ``query C``: each line is one read of ``/items/C``: a query string (``?fields=…``), a filter object
  (``{"status": …}``), or a whole ``GET /path?…``; ``# …`` after two spaces is a comment. A line (or the next
  line) may give the answer after ``→``: an object is the first row of ``data``, a list is ``data``.
  Without ``→`` the read must simply succeed (200).
- ``deep C``: the block is the value of ``deep`` for ``GET /items/C?fields=*.*.*``.
- ``answer METHOD PATH``: the block is the exact answer to that request (an error body, say).
- ``request``: an ``http`` block (request line, headers, blank line, body); the next fenced block is the
  answer's JSON, compared exactly.
- ``curl``: ``curl`` commands (``$URL``, ``$AUTH``, ``$TOKEN``: the admin), each must answer 2xx; ``<pid>``,
  ``<rid>`` and ``<id>`` stand for the id the last ``/policies``, ``/roles`` and ``/permissions`` write returned.
  ``curl bare`` runs on a second server with an empty database.
- ``frames``: each line is a WebSocket frame, sent on a socket of its own (after the admin's ``auth``
  unless it is one), and must be answered without an error.
- ``ws C``: the block is a WebSocket frame the admin sends; the next block is the reply, the one after it the
  events, each made by the REST write it describes on ``C`` (``seq``: a number, increasing from frame to frame: the log
  numbers every committed event, not only those this subscriber sees, so the doc's values are illustrative).

In an answer, ``"…"`` stands for any value (ids, dates) and a list ending in ``, …]`` for "these rows among
others". Everything else is compared exactly. The seed is the reader tests' blog (``authors``, ``posts``,
``comments``: the world of reading.md) plus ``articles`` and their ``comments`` (``remarks``), the world of
query-language.md, filters.md and items.md, and the bare ``messages`` collection of access.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from tests.query.reader_fixtures import authors, build_blog
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.process import ROOT
from tests.support.servers import messages_collection, module_server
from tidepool.db import system

DOCS = ROOT / "docs"
ANY = "\u0000any"
MORE = "\u0000more"
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.M | re.S)
MARKER = re.compile(r"<!-- run: (\w+)(?: (.+?))? -->\s*$")

# Every code block that does not run, with the reason.
WS_FRAMES = "WebSocket frames: tests/realtime/test_transcripts.py runs such transcripts"
SKIPPED: list[tuple[str, str, str]] = [  # (doc, how the block's first line starts, why it does not run here)
    ("access.md", "tidepool roles create", "CLI commands: tests/cli/test_management.py"),
    (
        "access.md",
        '{"policies": {"create": [{"policy"',
        "a body of PATCH /roles/{id}: tests/http/test_role_nested_save.py",
    ),
    ("architecture.md", "uvicorn ─► app.TidepoolApp ─► http", "a diagram"),
    ("architecture.md", "uvicorn (HTTP parser) ─► realtime/wire.TidepoolWire", "a diagram"),
    ("architecture.md", "write (REST, socket, CLI", "a diagram"),
    ("client-suites.md", "PYTHONPATH=. .venv/bin/python -m tests.e2e.record_directus", "needs a real Directus"),
    ("items.md", '{"errors": [', "an error shape of validation rules: tests/http/test_error_shapes.py"),
    ("metrics.md", "scrape_configs:", "a Prometheus configuration"),
    ("query-language.md", "400 INVALID_QUERY  Invalid query. Query is too", "an answer, no request"),
    (
        "query-language.md",
        "400 INVALID_PAYLOAD  Invalid payload. 140000 keys",
        "an answer: tests/realtime/test_key_lists.py",
    ),
    (
        "query-language.md",
        "GET /roles?fields=name,users&deep[users]",
        "roles the seed lacks: tests/http/test_deep_aggregate.py",
    ),
    ("realtime-events.md", "write (REST, WebSocket items", "a diagram"),
    ("realtime-events.md", '→ {"type":"subscribe"', WS_FRAMES),
    ("realtime-events.md", "REDIS=redis://", "a deployment command"),
    ("schema.md", "tidepool collections create", "CLI: tests/cli/test_schema_cli.py"),
    ("schema.md", "tidepool schema snapshot", "CLI: tests/cli/test_schema_cli.py"),
    ("studio.md", '{"data": {"enabled": true,', "the Studio's settings answer: tests/e2e/test_studio.py"),
    ("websocket.md", "const rows = new Map();", "JavaScript: tests/e2e/test_docs_snippet.py runs it"),
    (
        "websocket.md",
        '← {"type":"subscription","event":"create","data":[{"id":1',
        "frames: tests/realtime/test_batch_events.py",
    ),
]

# -- the seed: articles and their comments, next to the reader tests' blog ---------------------------------

metadata = sa.MetaData()
STAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=3), "mysql")
articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200)),
    sa.Column("status", sa.String(20)),
    sa.Column("views", sa.Integer),
    sa.Column("featured", sa.Boolean),
    sa.Column("price", sa.Numeric(10, 2)),
    sa.Column("quantity", sa.Integer),
    sa.Column("rating", sa.Float),
    sa.Column("tags", sa.Text),
    sa.Column("data", sa.JSON),
    sa.Column("date_created", STAMP),
    sa.Column("published_at", sa.DateTime(timezone=False)),
    sa.Column("user_created", sa.String(36)),
    sa.Column("team", sa.String(36)),
    sa.Column("author", sa.Integer, sa.ForeignKey(authors.c.id)),
)
remarks = sa.Table(
    "remarks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("article", sa.Integer, sa.ForeignKey("articles.id")),
    sa.Column("author", sa.Integer, sa.ForeignKey(authors.c.id)),
    sa.Column("text", sa.String(200)),
    sa.Column("approved", sa.Boolean),
    sa.Column("spam", sa.Boolean),
    sa.Column("votes", sa.Integer),
    sa.Column("date_created", STAMP),
)
nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(100)),
    sa.Column("parent", sa.Integer, sa.ForeignKey("nodes.id")),
)
NODES = [
    {"id": 1, "title": "root", "parent": None},
    {"id": 2, "title": "a", "parent": 1},
    {"id": 3, "title": "b", "parent": 1},
    {"id": 4, "title": "c", "parent": 2},
]
FIELD_META = [
    ("articles", "tags", "csv", "cast-csv"),
    ("articles", "data", "json", "cast-json"),
    ("articles", "date_created", "timestamp", "date-created"),
    ("articles", "published_at", "dateTime", None),
    ("articles", "comments", "alias", "o2m"),
    ("remarks", "date_created", "timestamp", "date-created"),
]
RELATIONS: list[dict[str, str | None]] = [
    {"many_collection": "nodes", "many_field": "parent", "one_collection": "nodes", "one_field": None},
    {"many_collection": "articles", "many_field": "author", "one_collection": "authors", "one_field": None},
    {"many_collection": "remarks", "many_field": "article", "one_collection": "articles", "one_field": "comments"},
    {"many_collection": "remarks", "many_field": "author", "one_collection": "authors", "one_field": None},
]
DATA_1 = {"a": {"b": "x"}, "tags": [1, 2]}
ARTICLES: list[tuple[Any, ...]] = [
    # id, title, status, views, featured, price, quantity, rating, tags, data, date_created, author
    (1, "Tidepool 1.0", "published", 150, True, "0.00", 3, 4.5, "news", DATA_1, "2024-12-31T23:30:00", 1),
    (2, "Draft notes", "draft", 5, False, "12.50", 1, 3.0, "intro", {"n": 1}, "2025-01-05T08:00:00", 2),
    (3, "Hello", "published", 40, False, "9.99", 7, 4.0, "news,intro", None, "2025-03-01T12:00:00", 1),
    (4, "Sale", "published", 120, False, "5.00", 2, None, "sale", {"n": 3}, "2025-02-01T09:00:00", 2),
    (5, "Old post", "published", 2, False, "20.00", 0, 2.5, None, None, "2024-06-01T10:00:00", None),
    (6, "Archived", "archived", 0, False, None, None, None, None, None, "2023-01-01T00:00:00", 3),
]
REMARKS: list[tuple[Any, ...]] = [
    # id, article, author, text, approved, spam, votes, date_created
    (1, 1, 3, "Great", True, False, 3, "2025-01-01T10:00:00"),
    (2, 1, None, "buy now", False, True, 0, "2025-01-02T10:00:00"),
    (3, 3, 3, "Thanks", True, False, 1, "2025-03-02T10:00:00"),
    (4, 4, 2, "Nice", True, False, 2, "2025-02-02T10:00:00"),
]


def _moment(text: str, dialect: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=dt.UTC) if dialect == "postgresql" else moment


async def build_articles(server: LiveServer) -> None:
    runtime = server.runtime
    dialect = runtime.engine.dialect.name
    names = ("id", "title", "status", "views", "featured", "price", "quantity", "rating", "tags", "data")
    rows = [
        {**dict(zip(names, row[:10], strict=True)), "date_created": _moment(row[10], dialect), "author": row[11]}
        for row in ARTICLES
    ]
    for row in rows:
        row.update(published_at=row["date_created"].replace(tzinfo=None), user_created=None, team=None)
    comment_names = ("id", "article", "author", "text", "approved", "spam", "votes")
    comment_rows = [
        {**dict(zip(comment_names, r[:7], strict=True)), "date_created": _moment(r[7], dialect)} for r in REMARKS
    ]
    async with runtime.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(articles.insert(), rows)
        await conn.execute(remarks.insert(), comment_rows)
        await conn.execute(nodes.insert(), NODES)
        for collection, name, type_, special in FIELD_META:
            await conn.execute(
                system.fields.insert().values(collection=collection, field=name, type=type_, special=special)
            )
        for relation in RELATIONS:
            await conn.execute(system.relations.insert().values(**relation))
        if dialect == "postgresql":
            for table in ("articles", "remarks", "nodes"):
                await conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    await runtime.schemas.reload()


def seed(server: LiveServer) -> None:
    server.run(build_blog(server))
    server.run(build_articles(server))
    messages_collection(server)
    with server.client() as admin:  # the row realtime-events.md's subscription starts from, websocket.md's user
        assert admin.post("/items/messages", json={"text": "hi"}).json()["data"]["id"] == 1
        user = {"email": FRAMES_USER[0], "password": FRAMES_USER[1], "status": "active"}
        assert admin.post("/users", json=user).status_code == 200


srv = module_server("docs-examples", seed=seed)
bare = module_server("docs-examples-bare")  # for examples that build their own collections (schema.md)


# -- the blocks ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    doc: str
    text: str
    marker: tuple[str, str] | None
    answers: tuple[str, ...]  # the blocks a ``request`` (one) or ``ws`` (two) block consumes as its answers

    @property
    def first(self) -> str:
        return next(line for line in self.text.splitlines() if line.strip()).strip()

    @property
    def key(self) -> str:
        return f"{self.doc}: {self.first[:70]}"

    def skipped_by(self, doc: str, start: str) -> bool:
        return self.doc == doc and self.first.startswith(start)


ANSWERS = {"request": 1, "ws": 2}  # how many following blocks a kind takes as its answers


def blocks(path: Path) -> list[Block]:
    source = path.read_text()
    found = list(FENCE.finditer(source))
    result: list[Block] = []
    answered: set[int] = set()
    for index, match in enumerate(found):
        if index in answered:
            continue
        before = source[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marked = MARKER.search(before)
        marker = (marked.group(1), marked.group(2) or "") if marked else None
        taken = range(index + 1, index + 1 + ANSWERS.get(marker[0], 0)) if marker else range(0)
        answered.update(taken)
        text = re.sub(r"^" + match.group(1), "", match.group(3), flags=re.M)
        result.append(Block(path.name, text, marker, tuple(found[n].group(3) for n in taken)))
    return result


ALL = [block for path in sorted(DOCS.glob("*.md")) for block in blocks(path)]
RUN = [block for block in ALL if block.marker]


def expected(text: str) -> Any:
    """An answer's JSON with its ``…`` placeholders made explicit."""
    text = text.replace('"…"', json.dumps(ANY))
    text = re.sub(r",\s*(…|\.\.\.)\s*\]", lambda _: f", {json.dumps(MORE)}]", text)
    return json.loads(text)


def check(want: Any, got: Any, where: str) -> None:
    if want == ANY:
        return
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(want) == set(got), (where, want, got)
        for name in want:
            check(want[name], got[name], f"{where}.{name}")
    elif isinstance(want, list) and want and want[-1] == MORE:
        assert isinstance(got, list), (where, got)
        for item in want[:-1]:
            assert any(_matches(item, row) for row in got), (where, item, got)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, want, got)
        for n, (item, row) in enumerate(zip(want, got, strict=True)):
            check(item, row, f"{where}[{n}]")
    else:
        assert want == got, (where, want, got)


def _matches(want: Any, got: Any) -> bool:
    try:
        check(want, got, "")
    except AssertionError:
        return False
    return True


# -- the runners --------------------------------------------------------------------------------------------


def read(admin: httpx.Client, collection: str, line: str) -> httpx.Response:
    if line.startswith("GET "):
        return admin.get(line[4:].strip())
    if line.startswith("{"):
        return admin.get(f"/items/{collection}", params={"filter": line})
    assert line.startswith("?"), line
    return admin.get(f"/items/{collection}{line}")


def run_query(admin: httpx.Client, block: Block) -> None:
    last: tuple[str, httpx.Response] | None = None
    for raw in block.text.splitlines():
        line = re.split(r"\s{2,}#", raw)[0].strip()
        if not line:
            continue
        request, _, answer = (part.strip() for part in line.partition("→"))
        if request:
            response = read(admin, block.marker[1] if block.marker else "", request)
            assert response.status_code == 200, (block.key, request, response.text)
            last = (request, response)
        if answer:
            assert last is not None, (block.key, line)
            want, data = expected(answer), last[1].json()["data"]
            check(want, data[0] if isinstance(want, dict) else data, last[0])


def run_deep(admin: httpx.Client, block: Block) -> None:
    collection = block.marker[1] if block.marker else ""
    response = admin.get(f"/items/{collection}", params={"fields": "*.*.*", "deep": block.text})
    assert response.status_code == 200, (block.key, response.text)


def run_request(admin: httpx.Client, block: Block) -> None:
    head, _, body = block.text.partition("\n\n")
    request_line, *header_lines = head.splitlines()
    method, target = request_line.split()
    headers = dict(line.split(": ", 1) for line in header_lines)
    response = admin.request(method, target, headers=headers, content=body.strip() or None)
    assert response.is_success, (block.key, response.text)
    check(expected(block.answers[0]), response.json(), block.key)


def curl_commands(text: str) -> Iterator[str]:
    """The block's commands: comment lines dropped, continuation lines and quoted bodies over several lines
    joined."""
    pending = ""
    for line in text.replace("\\\n", " ").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        try:
            shlex.split(pending)
        except ValueError:  # a quote still open: the body goes on
            continue
        yield pending
        pending = ""
    assert not pending, pending


def curl(admin: httpx.Client, command: str) -> tuple[str, str, httpx.Response]:
    """Send what ``command`` (a curl command line) would send."""
    args = shlex.split(command)
    assert args[0] == "curl", command
    method, target, headers, body = "GET", "", {}, None
    words = iter(args[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(": ")
            headers[name] = value
        elif word == "-d":
            body = next(words)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")  # what curl -d sends
        else:
            target = word
    return method, target, admin.request(method, target, headers=headers, content=body)


def run_answer(admin: httpx.Client, block: Block) -> None:
    method, target = block.marker[1].split(" ", 1) if block.marker else ("", "")
    check(expected(block.text), admin.request(method, target).json(), block.key)


def run_curl(admin: httpx.Client, block: Block) -> None:
    ids: dict[str, str] = {}
    for command in curl_commands(block.text):
        for name, value in {**ids, **VARIABLES}.items():
            command = command.replace(name, value)
        method, target, response = curl(admin, command)
        assert response.is_success, (block.key, command, response.text)
        for prefix, placeholder in (("/policies", "<pid>"), ("/roles", "<rid>"), ("/permissions", "<id>")):
            if target.startswith(prefix) and method == "POST":
                ids[placeholder] = str(response.json()["data"]["id"])


WRITES = {  # the REST write that makes each subscription event of a ws example
    "create": lambda admin, c, data: admin.post(f"/items/{c}", json={k: v for k, v in data[0].items() if k != "id"}),
    "update": lambda admin, c, data: admin.patch(f"/items/{c}/{data[0]['id']}", json=data[0]),
    "delete": lambda admin, c, data: admin.delete(f"/items/{c}/{data[0]}"),
}


def run_ws(admin: httpx.Client, block: Block, url: str) -> None:
    """Send the block's frame as the admin, compare the reply with the next block, then make each event of the
    block after it with its REST write and compare the frame that arrives; ``seq`` must increase."""
    collection = block.marker[1] if block.marker else ""
    reply, events = ([json.loads(line) for line in text.splitlines() if line.strip()] for text in block.answers)
    seqs: list[int] = []

    def arrives(conn: WS, want: dict[str, Any]) -> None:
        frame = conn.recv_until(lambda f: f.get("type") != "ping")
        check({**want, "seq": ANY}, frame, block.key)
        assert isinstance(frame["seq"], int) and (not seqs or frame["seq"] > seqs[-1]), (block.key, seqs, frame)
        seqs.append(frame["seq"])

    with WS(url) as conn:
        assert conn.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        conn.send(block.text.strip())
        for want in reply:
            arrives(conn, want)
        for want in events:
            assert WRITES[want["event"]](admin, collection, want["data"]).is_success, want
            arrives(conn, want)


def run_frames(admin: httpx.Client, block: Block, url: str) -> None:
    """Each line, on a socket of its own (after the admin's ``auth`` unless it is one), is answered without an
    error; ``<static token or JWT>`` is the admin's token, ``<refresh token>`` a fresh one of the seed user."""
    login = admin.post("/auth/login", json={"email": FRAMES_USER[0], "password": FRAMES_USER[1]})
    assert login.status_code == 200, login.text
    values = {"<static token or JWT>": ADMIN_TOKEN, "<refresh token>": login.json()["data"]["refresh_token"]}
    for line in filter(str.strip, block.text.splitlines()):
        for name, value in values.items():
            line = line.replace(name, value)
        with WS(url) as conn:
            if json.loads(line)["type"] != "auth":
                assert conn.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
            conn.send(line)
            reply = conn.recv_until(lambda f: f.get("type") != "ping")
            assert reply.get("status") != "error" and reply.get("event") != "error", (block.key, line, reply)


FRAMES_USER = ("user@example.com", "secret")  # the account websocket.md's auth frames log in with
VARIABLES = {  # the shell variables and addresses the curl examples use
    "http://127.0.0.1:8055": "",
    "$URL": "",
    "$AUTH": f"Authorization: Bearer {ADMIN_TOKEN}",
    "$ADMIN_TOKEN": ADMIN_TOKEN,
    "$TOKEN": ADMIN_TOKEN,
}
RUNNERS = {"answer": run_answer, "query": run_query, "deep": run_deep, "request": run_request, "curl": run_curl}


def test_every_code_block_runs_or_says_why_not() -> None:
    unmarked = [block for block in ALL if not block.marker]
    unlisted = [block.key for block in unmarked if not any(block.skipped_by(doc, start) for doc, start, _ in SKIPPED)]
    assert unlisted == [], "run these (a marker) or list them in SKIPPED with a reason"
    stale = [(doc, start) for doc, start, _ in SKIPPED if not any(b.skipped_by(doc, start) for b in unmarked)]
    assert stale == [], "SKIPPED names blocks that no longer exist or now run"
    assert {block.marker[0] for block in RUN if block.marker} <= {*RUNNERS, "ws", "frames"}


@pytest.mark.parametrize("doc", sorted({block.doc for block in RUN}))
def test_the_examples_answer_as_printed(srv: LiveServer, bare: LiveServer, doc: str) -> None:
    """Each block of ``doc`` in order, on the seeded server, or on the bare one when its marker says ``bare``."""
    with srv.client() as seeded, bare.client() as empty:
        for block in RUN:
            if block.doc == doc and block.marker:
                if block.marker[0] == "ws":
                    run_ws(seeded, block, srv.ws_url)
                elif block.marker[0] == "frames":
                    run_frames(seeded, block, srv.ws_url)
                else:
                    RUNNERS[block.marker[0]](empty if block.marker[1] == "bare" else seeded, block)
