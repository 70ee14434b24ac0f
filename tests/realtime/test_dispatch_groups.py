"""Subscriber groups whose access holds several read permissions on one collection (issue 7, item 1).

Each setup below once made the access fingerprint raise ``TypeError`` (ordering ``None`` against a list, or
a dict against a dict), which dropped the event for *every* subscriber of the collection, admin included.
Each test subscribes the admin, the user with the awkward access and (where the setup allows) a user with a
single permission, writes a row over REST, and checks that every socket gets exactly what a REST read of that
row with its own token returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import make_policy, make_user, ok
from tests.realtime.test_subscriptions_helpers import wait_dispatched
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.seed import create_messages
from tests.support.servers import NO_HEARTBEAT, messages_collection, module_server

PUBLIC_POLICY = "abf8a154-5b1c-4a46-ac9c-7300570f4f17"
OWN_ROWS = {"user": {"_eq": "$CURRENT_USER"}}


srv = module_server("groups", env=NO_HEARTBEAT, seed=messages_collection)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def read(fields: list[str], rule: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"collection": "messages", "action": "read", "fields": fields, "permissions": rule or {}}


def watcher(srv: LiveServer, token: str) -> WS:
    ws = WS(srv.ws_url)
    assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
    init = ws.request({"type": "subscribe", "collection": "messages", "query": {"fields": ["*"]}, "uid": "w"})
    assert init["event"] == "init", init
    return ws


def rest_view(srv: LiveServer, token: str, key: int) -> list[dict[str, Any]]:
    """The row as a REST read with ``token`` returns it (``[]`` when the token may not see it)."""
    with srv.client(token=token) as client:
        params = {"fields": "*", "filter[id][_eq]": str(key)}
        return list(ok(client.get("/items/messages", params=params)))


def assert_everyone_gets_the_event(srv: LiveServer, admin: httpx.Client, owner: str, tokens: list[str]) -> None:
    sockets = {token: watcher(srv, token) for token in [ADMIN_TOKEN, *tokens]}
    try:
        for text in ("public hello", "private note"):
            key = ok(admin.post("/items/messages", json={"text": text, "user": owner, "number": 1}))["id"]
            wait_dispatched(srv)
            for token, ws in sockets.items():
                expected = rest_view(srv, token, key)
                if not expected:
                    ws.quiet(0.2)
                    continue
                frame = ws.recv()
                assert (frame["event"], frame["data"]) == ("create", expected), (token, frame)
    finally:
        for ws in sockets.values():
            ws.close()


def test_public_read_all_fields_plus_a_role_read(srv: LiveServer, admin: httpx.Client) -> None:
    """Public ``fields: ["*"]`` (None) beside a role's field list: None was ordered against a list."""
    public = ok(admin.post("/permissions", json={"policy": PUBLIC_POLICY, **read(["*"])}))
    try:
        user, token = make_user(admin, policies=(make_policy(admin, read(["id", "text"])),))
        assert_everyone_gets_the_event(srv, admin, user, [token])
    finally:
        assert admin.delete(f"/permissions/{public['id']}").status_code == 204


def test_own_rows_all_fields_plus_all_rows_some_fields(srv: LiveServer, admin: httpx.Client) -> None:
    policy = make_policy(admin, read(["*"], OWN_ROWS), read(["id", "text"]))
    user, token = make_user(admin, policies=(policy,))
    _, single = make_user(admin, policies=(make_policy(admin, read(["id", "number"])),))
    assert_everyone_gets_the_event(srv, admin, user, [token, single])


def test_own_rows_plus_rows_starting_with_public(srv: LiveServer, admin: httpx.Client) -> None:
    """Two rules on the same fields: the two rule dicts were ordered against each other."""
    policy = make_policy(admin, read(["*"], OWN_ROWS), read(["*"], {"text": {"_starts_with": "public"}}))
    user, token = make_user(admin, policies=(policy,))
    _, other = make_user(admin, policies=(policy,))
    _, single = make_user(admin, policies=(make_policy(admin, read(["*"], OWN_ROWS)),))
    assert_everyone_gets_the_event(srv, admin, user, [token, other, single])


def test_a_failing_group_affects_no_other_group(
    srv: LiveServer, admin: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A column dropped behind the server's back (another process, schema not reloaded yet) makes the read of
    the groups that ask for it fail with a database error: those get an error frame naming their ``uid``,
    every other group still gets its event, and the failure is logged once, not once per event."""
    create_messages(admin, "notes")
    subscribe = {"type": "subscribe", "collection": "notes"}
    with WS(srv.ws_url) as broken, WS(srv.ws_url) as fine, WS(srv.ws_url) as other:
        for ws in (broken, fine, other):
            assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        assert broken.request({**subscribe, "query": {"fields": ["id", "number"]}, "uid": "b"})["event"] == "init"
        assert fine.request({**subscribe, "query": {"fields": ["id", "text"]}, "uid": "f"})["event"] == "init"
        assert other.request({**subscribe, "query": {"fields": ["text"]}, "uid": "o"})["event"] == "init"
        drop_column_behind_the_servers_back(srv, "notes", "number")
        for text in ("one", "two"):
            key = ok(admin.post("/items/notes", json={"text": text}, params={"fields": "id"}))["id"]
            created = fine.recv()
            assert (created["event"], created["data"], created["uid"]) == ("create", [{"id": key, "text": text}], "f")
            assert other.recv()["data"] == [{"text": text}]
            failed = broken.recv()
            assert (failed["type"], failed["status"], failed["uid"]) == ("subscribe", "error", "b"), failed
    failures = [r for r in caplog.records if "notes" in r.getMessage() and r.levelname == "ERROR"]
    assert len(failures) == 1, [r.getMessage() for r in failures]


def drop_column_behind_the_servers_back(srv: LiveServer, collection: str, column: str) -> None:
    import sqlalchemy as sa

    async def run() -> None:
        async with srv.runtime.engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            await conn.execute(sa.text(f"ALTER TABLE {quote(collection)} DROP COLUMN {quote(column)}"))

    srv.run(run())
