"""A committed write over the socket is never reported as an error (issue 7, item 10).

Directus reads the written rows back as the caller; when the caller may not read them, REST answers 204 and
Tidepool's socket answers ``{"type":"items","data":null,"uid":…}`` (it used to answer ``FORBIDDEN`` although
the row was committed, so a retrying client wrote it twice). Single and batch forms of create, update and
delete, by a user who may write but not read, and by one whose read rule excludes the written rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import make_policy, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.servers import NO_HEARTBEAT, messages_collection, module_server

WRITES: list[dict[str, Any]] = [
    {"collection": "messages", "action": a, "fields": ["*"], "permissions": {}} for a in ("create", "update", "delete")
]
READ_VISIBLE = {
    "collection": "messages",
    "action": "read",
    "fields": ["*"],
    "permissions": {"text": {"_eq": "visible"}},
}


srv = module_server("committed", env=NO_HEARTBEAT, seed=messages_collection)


@pytest.fixture(scope="module")
def writer(srv: LiveServer) -> str:
    """May create, update and delete ``messages`` but not read them."""
    with srv.client() as admin:
        return make_user(admin, policies=(make_policy(admin, *WRITES),))[1]


@pytest.fixture(scope="module")
def limited(srv: LiveServer) -> str:
    """May write ``messages`` and read only the rows whose text is "visible"."""
    with srv.client() as admin:
        return make_user(admin, policies=(make_policy(admin, *WRITES, READ_VISIBLE),))[1]


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def socket(srv: LiveServer, token: str) -> WS:
    ws = WS(srv.ws_url)
    assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
    return ws


def items(ws: WS, uid: str, **message: Any) -> Any:
    return ws.request({"type": "items", "collection": "messages", "uid": uid, **message})


def texts(admin: httpx.Client) -> list[str]:
    return sorted(r["text"] for r in ok(admin.get("/items/messages", params={"fields": "text", "limit": -1})))


def seed(admin: httpx.Client, *texts: str) -> list[int]:
    return [r["id"] for r in ok(admin.post("/items/messages", json=[{"text": t} for t in texts]))]


@pytest.fixture(autouse=True)
def empty(admin: httpx.Client) -> None:
    ok(admin.request("DELETE", "/items/messages", json={"query": {"limit": -1}}), 204)


def test_create_single_and_batch_without_read_permission(srv: LiveServer, writer: str, admin: httpx.Client) -> None:
    with socket(srv, writer) as ws:
        assert items(ws, "c1", action="create", data={"text": "one"}) == {"type": "items", "data": None, "uid": "c1"}
        assert items(ws, "c2", action="create", data=[{"text": "two"}, {"text": "three"}]) == {
            "type": "items",
            "data": None,
            "uid": "c2",
        }
    assert texts(admin) == ["one", "three", "two"]  # each committed exactly once


def test_update_single_and_batch_without_read_permission(srv: LiveServer, writer: str, admin: httpx.Client) -> None:
    a, b, c = seed(admin, "a", "b", "c")
    with socket(srv, writer) as ws:
        assert items(ws, "u1", action="update", id=a, data={"text": "a2"})["data"] is None
        reply = items(ws, "u2", action="update", ids=[b, c], data={"text": "bc"})
        assert reply == {"type": "items", "data": None, "uid": "u2"}
        batch = items(ws, "u3", action="update", data=[{"id": b, "text": "b3"}, {"id": c, "text": "c3"}])
        assert batch == {"type": "items", "data": None, "uid": "u3"}
        # By query, the keys are found by reading as the caller: refused before anything is written.
        by_query = items(ws, "u4", action="update", query={"filter": {"id": {"_eq": a}}}, data={"text": "a4"})
        assert by_query["error"]["code"] == "FORBIDDEN"
    assert texts(admin) == ["a2", "b3", "c3"]


def test_delete_single_and_batch_without_read_permission(srv: LiveServer, writer: str, admin: httpx.Client) -> None:
    a, b, c = seed(admin, "a", "b", "c")
    with socket(srv, writer) as ws:
        assert items(ws, "d1", action="delete", id=a) == {"type": "items", "data": a, "uid": "d1"}
        assert items(ws, "d2", action="delete", ids=[b, c]) == {"type": "items", "data": [b, c], "uid": "d2"}
    assert texts(admin) == []


def test_writes_whose_rows_leave_the_read_rule(srv: LiveServer, limited: str, admin: httpx.Client) -> None:
    """Readable collection, unreadable rows: single reads answer null, batch reads the rows still readable."""
    with socket(srv, limited) as ws:
        assert items(ws, "c1", action="create", data={"text": "hidden"})["data"] is None
        visible = items(ws, "c2", action="create", data={"text": "visible"})["data"]
        assert visible["text"] == "visible"
        batch = items(ws, "c3", action="create", data=[{"text": "visible"}, {"text": "hidden"}])["data"]
        assert [row["text"] for row in batch] == ["visible"]
        assert items(ws, "u1", action="update", id=visible["id"], data={"text": "gone"}) == {
            "type": "items",
            "data": None,
            "uid": "u1",
        }
        moved = items(ws, "u2", action="update", query={"filter": {"text": {"_eq": "visible"}}}, data={"text": "out"})
        assert moved == {"type": "items", "data": [], "uid": "u2"}  # found by the caller, then out of its view
        assert items(ws, "d1", action="delete", id=visible["id"])["data"] == visible["id"]
    assert texts(admin) == ["hidden", "hidden", "out"]


def test_a_read_back_with_fields_the_caller_may_not_read(srv: LiveServer, limited: str, admin: httpx.Client) -> None:
    """The read-back's query is the caller's; a field it may not read is the same FORBIDDEN after the commit."""
    with socket(srv, limited) as ws:
        reply = items(ws, "c1", action="create", data={"text": "visible"}, query={"fields": ["nope"]})
        assert reply == {"type": "items", "data": None, "uid": "c1"}
    assert texts(admin) == ["visible"]
