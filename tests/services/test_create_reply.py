"""A create's reply, over real HTTP and WebSocket on a real database: whichever way it is read, it is what a
fresh read of the item answers the same caller with the same query.

On SQLite the reply is read in the write's own transaction, in the INSERT's hand-off
(``services/fast_create.py``), on PostgreSQL right after the INSERT when the read cannot fail there
(``services/pg_reply.py``); elsewhere, and for reads with relations, it is read back after the commit.
These tests pin that both agree: every column type of ``articles`` (JSON, CSV, dates and times, decimals,
booleans, a concealed hash, generated specials) for the admin; for a user whose read permission names some
fields only (a field it may not read never appears, and asking for one answers 204 / ``null``, the write
still done); for a user whose read rule the new row does not match; for a relational query; and that a
broken constraint is still Directus's error for it, on both transports. And on SQLite and PostgreSQL, that a
create checks out one pooled connection (the write's), not a second one for its reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.http.accounts_support import make_policy, make_user
from tests.realtime.wsclient import WS
from tests.services import articles, clear, items_tables, rows
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import NO_HEARTBEAT, module_server

pytestmark = pytest.mark.timeout(120)

srv = module_server("create-reply", env=NO_HEARTBEAT, seed=items_tables)

FULL = {
    "title": "all types",
    "body": "text body",
    "views": 7,
    "big": 2**40,
    "rating": 2.5,
    "price": "12.34",
    "published": True,
    "tags": ["a", "b"],
    "meta": {"k": [1, {"x": None}], "s": "é"},
    "day": "2024-02-29",
    "at_time": "13:14:15",
    "local": "2024-03-01T10:11:12",
    "stamp": "2024-03-01T10:11:12.345Z",
    "ref": "1b4e28ba-2fa1-11d2-883f-0016cb4d1cb6",
    "secret": "s3cret",
}
READABLE = ["id", "title", "views", "meta", "date_created"]


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    clear(srv)
    with srv.client() as client:
        yield client


def _user(srv: LiveServer, admin: httpx.Client, read: dict[str, Any]) -> str:
    policy = make_policy(
        admin,
        {"collection": "articles", "action": "create", "fields": ["*"]},
        {"collection": "articles", "action": "read", **read},
        app_access=False,
    )
    return make_user(admin, policies=(policy,))[1]


def _rest(srv: LiveServer, token: str, body: dict[str, Any], query: str = "") -> tuple[int, Any]:
    with srv.client(token=token) as client:
        response = client.post(f"/items/articles{query}", json=body)
    assert response.status_code in (200, 204), response.text
    return response.status_code, response.json()["data"] if response.status_code == 200 else None


def _ws(srv: LiveServer, token: str, body: dict[str, Any], query: dict[str, Any] | None = None) -> Any:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        message: dict[str, Any] = {"type": "items", "collection": "articles", "action": "create", "data": body}
        if query is not None:
            message["query"] = query
        reply = ws.request({**message, "uid": "c"})
    assert reply.get("status") != "error", reply
    return reply["data"]


def _fresh(srv: LiveServer, token: str, key: Any, query: str = "") -> Any:
    with srv.client(token=token) as client:
        response = client.get(f"/items/articles/{key}{query}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_the_admin_reply_is_a_fresh_read_of_every_type(srv: LiveServer, admin: httpx.Client) -> None:
    status, data = _rest(srv, ADMIN_TOKEN, FULL)
    assert status == 200 and data == _fresh(srv, ADMIN_TOKEN, data["id"])
    assert data["secret"] == "**********" and data["meta"] == FULL["meta"] and data["date_created"]
    over_ws = _ws(srv, ADMIN_TOKEN, {**FULL, "title": "over ws"})
    assert over_ws == _fresh(srv, ADMIN_TOKEN, over_ws["id"]) and over_ws["title"] == "over ws"
    picked = _ws(srv, ADMIN_TOKEN, {**FULL, "title": "picked"}, {"fields": ["title", "price", "stamp"]})
    assert picked == _fresh(srv, ADMIN_TOKEN, _id_of(srv, "picked"), "?fields=title,price,stamp")
    assert set(picked) == {"title", "price", "stamp"}


def test_a_field_limited_reader_gets_its_fields_only(srv: LiveServer, admin: httpx.Client) -> None:
    token = _user(srv, admin, {"fields": READABLE})
    status, data = _rest(srv, token, FULL)
    assert status == 200 and set(data) == set(READABLE)
    assert data == _fresh(srv, token, data["id"])
    over_ws = _ws(srv, token, {**FULL, "title": "limited ws"})
    assert set(over_ws) == set(READABLE) and over_ws == _fresh(srv, token, over_ws["id"])
    # asking for a field it may not read: the write is done, the answer is "no content"
    assert _rest(srv, token, {**FULL, "title": "asks secret"}, "?fields=title,secret") == (204, None)
    assert _ws(srv, token, {**FULL, "title": "asks body"}, {"fields": ["body"]}) is None
    assert _id_of(srv, "asks secret") and _id_of(srv, "asks body")


def test_a_row_outside_the_read_rule_is_written_and_not_shown(srv: LiveServer, admin: httpx.Client) -> None:
    token = _user(srv, admin, {"fields": ["*"], "permissions": {"views": {"_gt": 100}}})
    assert _rest(srv, token, {"title": "hidden", "views": 5}) == (204, None)
    assert _ws(srv, token, {"title": "hidden ws", "views": 5}) is None
    assert _id_of(srv, "hidden") and _id_of(srv, "hidden ws")
    status, shown = _rest(srv, token, {"title": "shown", "views": 500})
    assert status == 200 and shown == _fresh(srv, token, shown["id"])


def test_a_relational_reply_is_read_back_alike(srv: LiveServer, admin: httpx.Client) -> None:
    author = admin.post("/items/authors", json={"name": "Ann"}).json()["data"]["id"]
    status, data = _rest(srv, ADMIN_TOKEN, {"title": "related", "author": author}, "?fields=title,author.name")
    assert status == 200 and data == {"title": "related", "author": {"name": "Ann"}}
    over_ws = _ws(srv, ADMIN_TOKEN, {"title": "related ws", "author": author}, {"fields": ["*", "author.*"]})
    assert over_ws == _fresh(srv, ADMIN_TOKEN, over_ws["id"], "?fields=*,author.*")
    assert over_ws["author"] == {"id": author, "name": "Ann"}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"title": "dup", "slug": "taken"}, "RECORD_NOT_UNIQUE", "slug"),
        ({"title": "orphan", "author": 999_999}, "INVALID_FOREIGN_KEY", "author"),
    ],
)
def test_a_broken_constraint_is_the_same_error_on_both_transports(
    srv: LiveServer, admin: httpx.Client, body: dict[str, Any], code: str, field: str
) -> None:
    assert admin.post("/items/articles", json={"title": "first", "slug": "taken"}).status_code == 200
    response = admin.post("/items/articles", json=body)
    assert response.status_code == 400, response.text
    rest_error = response.json()["errors"][0]
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        reply = ws.request({"type": "items", "collection": "articles", "action": "create", "data": body, "uid": "e"})
    assert reply["status"] == "error" and reply["error"]["code"] == code
    assert rest_error["extensions"]["code"] == code and rest_error["extensions"].get("field") == field
    assert reply["error"]["message"] == rest_error["message"]
    assert [r["title"] for r in _all(srv)] == ["first"]  # nothing of the failed writes is stored


def _checkouts(srv: LiveServer, token: str, count: int) -> tuple[int, list[Any]]:
    """Pooled connections checked out while ``count`` WebSocket creates are answered (after one to warm the
    plan up), and their replies."""
    checkouts: list[int] = []
    pool = srv.runtime.engine.sync_engine.pool

    def checked_out(*_: Any) -> None:
        checkouts.append(1)

    replies = []
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        create = {"type": "items", "collection": "articles", "action": "create", "uid": "n"}
        assert ws.request({**create, "data": {"title": "warm-up", "views": 500}}).get("status") != "error"
        sa.event.listen(pool, "checkout", checked_out)
        try:
            for i in range(count):
                reply = ws.request({**create, "data": {**FULL, "title": f"n{i}", "views": 500 + i}})
                assert reply.get("status") != "error", reply
                replies.append(reply["data"])
        finally:
            sa.event.remove(pool, "checkout", checked_out)
    return len(checkouts), replies


@pytest.mark.parametrize("reader", ["admin", "field-limited", "row rule"])
def test_a_create_uses_one_pooled_connection(srv: LiveServer, admin: httpx.Client, reader: str) -> None:
    """On SQLite and PostgreSQL the reply is read on the write's connection, and is a fresh read's answer; on
    PostgreSQL a read with a row rule other than equalities is read back (it could fail inside the write)."""
    dialect = srv.runtime.engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        pytest.skip("the reply is read in the write's transaction on SQLite and PostgreSQL only")
    read = {"admin": None, "field-limited": {"fields": READABLE}, "row rule": {"permissions": {"views": {"_gt": 100}}}}
    token = ADMIN_TOKEN if reader == "admin" else _user(srv, admin, {"fields": ["*"], **(read[reader] or {})})
    count = 6
    checkouts, replies = _checkouts(srv, token, count)
    for reply in replies:
        assert reply == _fresh(srv, token, reply["id"])
    if reader == "field-limited":
        assert set(replies[0]) == set(READABLE)
    # the write's connection per create (two per create when the reply was read on another one); the slack
    # is for the access snapshot's reload, which may fall in the window
    if dialect == "postgresql" and reader == "row rule":
        assert checkouts >= 2 * count, checkouts
    else:
        assert checkouts <= count + 2, checkouts


def _all(srv: LiveServer) -> list[dict[str, Any]]:
    return rows(srv, articles)


def _id_of(srv: LiveServer, title: str) -> Any:
    found = rows(srv, articles, articles.c.title == title)
    assert len(found) == 1, found
    return found[0]["id"]


@pytest.mark.parametrize(("collection", "body"), [("tokens", {"name": "generated key"}), ("codes", {"code": "k1"})])
def test_a_reply_by_a_generated_or_given_text_key(
    srv: LiveServer, admin: httpx.Client, collection: str, body: dict[str, Any]
) -> None:
    created = admin.post(f"/items/{collection}", json=body)
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    key = data["id"] if collection == "tokens" else data["code"]
    assert data == admin.get(f"/items/{collection}/{key}").json()["data"]
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        again = {"name": "over ws"} if collection == "tokens" else {"code": "k2", "label": "abc"}
        reply = ws.request({"type": "items", "collection": collection, "action": "create", "data": again, "uid": "k"})
    key = reply["data"]["id"] if collection == "tokens" else reply["data"]["code"]
    assert reply["data"] == admin.get(f"/items/{collection}/{key}").json()["data"]


def test_a_permission_change_is_seen_by_the_next_reply(srv: LiveServer, admin: httpx.Client) -> None:
    """The reply's read is kept between creates with the same query (``reader.keyed_read``): narrowing the
    caller's read permission must narrow the very next reply."""
    token = _user(srv, admin, {"fields": READABLE})
    for title in ("before 1", "before 2"):  # the second reply is the kept read's
        status, data = _rest(srv, token, {**FULL, "title": title})
        assert status == 200 and set(data) == set(READABLE)
    read_permission = admin.get(
        "/permissions", params={"filter[collection][_eq]": "articles", "filter[action][_eq]": "read"}
    ).json()["data"]
    for permission in read_permission:
        assert admin.patch(f"/permissions/{permission['id']}", json={"fields": ["id", "title"]}).status_code == 200
    status, data = _rest(srv, token, {**FULL, "title": "after"})
    assert status == 200 and data == {"id": data["id"], "title": "after"}
    assert data == _fresh(srv, token, data["id"])


def test_a_schema_change_is_seen_by_the_next_reply(srv: LiveServer, admin: httpx.Client) -> None:
    """The same for a field added, then removed: the next reply has it, then not."""
    for title in ("warm 1", "warm 2"):
        assert "late" not in _rest(srv, ADMIN_TOKEN, {"title": title})[1]
    added = admin.post("/fields/articles", json={"field": "late", "type": "string"})
    assert added.status_code == 200, added.text
    try:
        status, data = _rest(srv, ADMIN_TOKEN, {"title": "with late", "late": "here"})
        assert status == 200 and data["late"] == "here" and data == _fresh(srv, ADMIN_TOKEN, data["id"])
    finally:
        assert admin.delete("/fields/articles/late").status_code == 204
    status, data = _rest(srv, ADMIN_TOKEN, {"title": "without late"})
    assert status == 200 and "late" not in data and data == _fresh(srv, ADMIN_TOKEN, data["id"])


def test_a_sqlite_create_is_one_hand_off_besides_its_commit(srv: LiveServer, admin: httpx.Client) -> None:
    """Its INSERT, its reply's read, its history rows and its event log append go to aiosqlite's thread together
    (``services/sqlite_finish.py``): counted at aiosqlite's own queue, creates one at a time (a group each)."""
    if srv.runtime.engine.dialect.name != "sqlite":
        pytest.skip("aiosqlite's thread is SQLite's")
    import aiosqlite.core

    trips: list[str] = []
    queue: Any = aiosqlite.core.Connection._execute
    count = 6

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(fn, "__qualname__", repr(fn))
        # Reads elsewhere, and a new pooled connection's setup (an overflow connection opened while a background
        # read held the others: its function registration is the connection's trip, not the create's).
        if not name.startswith(("Cursor.", "Connection.cursor", "Connection.rollback", "Connection.create_function")):
            trips.append(name)
        return await queue(self, fn, *args, **kwargs)

    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        create = {"type": "items", "collection": "articles", "action": "create", "uid": "t"}
        assert ws.request({**create, "data": {"title": "warm-up"}})["data"]["title"] == "warm-up"
        aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]  # counts, then queues as ever
        try:
            for i in range(count):
                assert ws.request({**create, "data": {"title": f"t{i}"}})["data"]["title"] == f"t{i}"
        finally:
            aiosqlite.core.Connection._execute = queue  # type: ignore[method-assign]
    assert len(trips) == 2 * count, trips  # it and the COMMIT (3 each when the INSERT went on its own)
