"""Subscriptions to directus_comments and directus_versions: their writes are events like any collection's,
permission-checked like any collection's (frames as Directus 12.4.1 sent them to the same subscriptions)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import make_policy, make_user, ok
from tests.realtime.test_subscriptions_helpers import ws
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import NO_HEARTBEAT, messages_collection, module_server

srv = module_server("history_events", env=NO_HEARTBEAT, seed=messages_collection)


@pytest.fixture(scope="module")
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        ok(client.post("/items/messages", json=[{"text": "one"}, {"text": "two"}]))
        ok(client.patch("/collections/messages", json={"meta": {"versioning": True}}))
        yield client


def _subscribe(conn: Any, collection: str, uid: str) -> list[dict[str, Any]]:
    init = conn.request({"type": "subscribe", "collection": collection, "uid": uid})
    assert init["type"] == "subscription" and init["event"] == "init" and init["uid"] == uid, init
    rows: list[dict[str, Any]] = init["data"]
    return rows


def test_comment_writes_reach_subscribers_of_directus_comments(srv: LiveServer, admin: httpx.Client) -> None:
    with ws(srv, ADMIN_TOKEN) as conn:
        assert _subscribe(conn, "directus_comments", "c") == []
        made = ok(admin.post("/comments", json={"collection": "messages", "item": "1", "comment": "live"}))
        frame = conn.recv()
        frame.pop("seq", None)  # Tidepool's resume mark
        assert frame == {"type": "subscription", "event": "create", "data": [made], "uid": "c"}
        ok(admin.patch(f"/comments/{made['id']}", json={"comment": "edited"}))
        frame = conn.recv()
        assert frame["event"] == "update" and frame["data"][0]["comment"] == "edited"
        assert admin.delete(f"/comments/{made['id']}").status_code == 204
        frame = conn.recv()
        frame.pop("seq", None)
        assert frame == {"type": "subscription", "event": "delete", "data": [made["id"]], "uid": "c"}


def test_version_saves_reach_subscribers_of_directus_versions(srv: LiveServer, admin: httpx.Client) -> None:
    with ws(srv, ADMIN_TOKEN) as conn:
        _subscribe(conn, "directus_versions", "v")
        made = ok(admin.post("/versions", json={"key": "live", "collection": "messages", "item": "1"}))
        assert conn.recv()["event"] == "create"
        ok(admin.post(f"/versions/{made['id']}/save", json={"text": "draft"}))
        frame = conn.recv()
        assert frame["event"] == "update" and frame["data"][0]["id"] == made["id"]
        assert frame["data"][0]["delta"]["text"] == "draft"


def test_comment_events_are_permission_checked(srv: LiveServer, admin: httpx.Client) -> None:
    """A user who reads only the comments on message 1 hears of those, and never of the others."""
    policy = make_policy(
        admin,
        {"collection": "directus_comments", "action": "read", "fields": ["*"], "permissions": {"item": {"_eq": "1"}}},
    )
    _, token = make_user(admin, policies=(policy,))
    with ws(srv, token) as conn:
        _subscribe(conn, "directus_comments", "mine")
        ok(admin.post("/comments", json={"collection": "messages", "item": "2", "comment": "hidden"}))
        seen = ok(admin.post("/comments", json={"collection": "messages", "item": "1", "comment": "seen"}))
        frame = conn.recv()
        assert frame["event"] == "create" and [c["comment"] for c in frame["data"]] == ["seen"]
        assert frame["data"][0]["id"] == seen["id"]
        conn.quiet(0.5)


def test_every_write_is_heard_by_subscribers_of_activity_and_revisions(srv: LiveServer, admin: httpx.Client) -> None:
    """As on Directus, the history rows a write adds are create events of directus_activity/directus_revisions."""
    with ws(srv, ADMIN_TOKEN) as activity, ws(srv, ADMIN_TOKEN) as revisions:
        _subscribe(activity, "directus_activity", "a")
        _subscribe(revisions, "directus_revisions", "r")
        made = ok(admin.post("/items/messages", json={"text": "tracked"}))
        frame = activity.recv()
        assert frame["event"] == "create" and frame["uid"] == "a"
        (row,) = frame["data"]
        assert (row["action"], row["collection"], row["item"]) == ("create", "messages", str(made["id"]))
        assert len(row["revisions"]) == 1
        frame = revisions.recv()
        assert frame["event"] == "create" and frame["data"][0]["id"] == row["revisions"][0]
        assert frame["data"][0]["delta"] == {"text": "tracked"}


def test_activity_events_are_permission_checked(srv: LiveServer, admin: httpx.Client) -> None:
    """A user who may read only its own activity hears of its own logins, never of the admin's writes."""
    policy = make_policy(
        admin,
        {
            "collection": "directus_activity",
            "action": "read",
            "fields": ["id", "action", "user", "collection"],
            "permissions": {"user": {"_eq": "$CURRENT_USER"}},
        },
    )
    user, token = make_user(admin, policies=(policy,))
    email = ok(admin.get(f"/users/{user}", params={"fields": "email"}))["email"]
    with ws(srv, token) as conn:
        _subscribe(conn, "directus_activity", "own")
        ok(admin.post("/items/messages", json={"text": "not yours"}))
        with srv.client(token=None) as anon:
            ok(anon.post("/auth/login", json={"email": email, "password": "pw-secret"}))
        frame = conn.recv()
        assert frame["event"] == "create"
        assert [(r["action"], r["user"], r["collection"]) for r in frame["data"]] == [("login", user, "directus_users")]
        conn.quiet(0.5)
