"""Open sockets follow access changes (issue 7, item 2).

A change of users, roles, policies, access or permissions re-resolves every open socket's access before its
next frame: subscriptions that lose read access end with an error naming their uid, the others continue under
the new access, and a suspended or deleted user's socket gets an ``auth`` error and is closed with 4401.
Over real sockets; the last test runs two servers on one PostgreSQL/MariaDB database with Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.http.accounts_support import make_policy, make_role, make_user, ok
from tests.realtime.test_subscriptions_helpers import wait_dispatched, wait_until
from tests.realtime.wsclient import WS
from tests.support import live
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import create_messages

REVOKED = 4401
READ_ALL = {"collection": "messages", "action": "read", "fields": ["*"]}
CREATE_ALL = {"collection": "messages", "action": "create", "fields": ["*"]}


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"WEBSOCKETS_HEARTBEAT_ENABLED": "false"}


def _user(admin: httpx.Client, *permissions: dict[str, Any]) -> tuple[str, str, str]:
    """(user id, token, policy id) of a user whose role holds one policy with ``permissions``."""
    policy = make_policy(admin, *permissions)
    user, token = make_user(admin, role=make_role(admin, policy))
    return user, token, policy


def _permission_id(admin: httpx.Client, policy: str, action: str, collection: str = "messages") -> int:
    params = {"filter[policy][_eq]": policy, "filter[action][_eq]": action, "filter[collection][_eq]": collection}
    rows = ok(admin.get("/permissions", params=params))
    return int(rows[0]["id"])


# How long a socket waits for a frame that must come: only a hang guard (each wait returns as the frame
# arrives). 3 s was tight for a change crossing processes through the database on a loaded machine.
WAIT = 10.0


def _socket(server: LiveServer, token: str) -> WS:
    ws = WS(server.ws_url)
    assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
    return ws


def _subscribe(ws: WS, uid: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
    message = {"type": "subscribe", "collection": "messages", "query": query or {"fields": ["*"]}, "uid": uid}
    init: dict[str, Any] = ws.request(message)
    assert init["event"] == "init", init
    return init


def _count(admin: httpx.Client) -> int:
    return len(ok(admin.get("/items/messages", params={"limit": -1})))


def test_deleted_permission_ends_the_subscription_and_forbids_reads(server: LiveServer, admin: httpx.Client) -> None:
    create_messages(admin)
    _, token, policy = _user(admin, READ_ALL, CREATE_ALL)
    with _socket(server, token) as ws:
        _subscribe(ws, "s1")
        assert admin.delete(f"/permissions/{_permission_id(admin, policy, 'read')}").status_code == 204
        ended = ws.recv(timeout=WAIT)
        assert ended["type"] == "subscribe" and ended["status"] == "error" and ended["uid"] == "s1", ended
        assert ended["error"]["code"] == "FORBIDDEN" and '"messages"' in ended["error"]["message"]
        ok(admin.post("/items/messages", json={"text": "after"}))
        wait_dispatched(server)
        # the next frame is the read's reply: no event was sent for the write above
        read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r"})
        assert read["type"] == "items" and read["status"] == "error" and read["error"]["code"] == "FORBIDDEN", read


def test_only_the_subscriptions_that_lose_access_end(server: LiveServer, admin: httpx.Client) -> None:
    create_messages(admin)
    create_messages(admin, "notes")
    read_notes = {"collection": "notes", "action": "read", "fields": ["*"]}
    _, token, policy = _user(admin, READ_ALL, read_notes)
    with _socket(server, token) as ws:
        _subscribe(ws, "m")
        init = ws.request({"type": "subscribe", "collection": "notes", "query": {"fields": ["id", "text"]}, "uid": "n"})
        assert init["event"] == "init"
        assert admin.delete(f"/permissions/{_permission_id(admin, policy, 'read')}").status_code == 204
        ok(admin.post("/items/notes", json={"text": "still here"}))
        frames = [ws.recv(timeout=WAIT), ws.recv(timeout=WAIT)]
        ended = next(f for f in frames if f["type"] == "subscribe")
        event = next(f for f in frames if f["type"] == "subscription")
        assert ended["uid"] == "m" and ended["error"]["code"] == "FORBIDDEN"
        assert event["uid"] == "n" and event["event"] == "create" and event["data"][0]["text"] == "still here"


def test_suspended_user_gets_an_auth_error_and_is_closed(server: LiveServer, admin: httpx.Client) -> None:
    create_messages(admin)
    user, token, _ = _user(admin, READ_ALL)
    with _socket(server, token) as ws:
        _subscribe(ws, "s")
        ok(admin.patch(f"/users/{user}", json={"status": "suspended"}))
        frame = ws.recv(timeout=WAIT)
        assert frame == {
            "type": "auth",
            "status": "error",
            "error": {"code": "INVALID_CREDENTIALS", "message": "Invalid user credentials."},
        }
        assert ws.wait_closed(timeout=WAIT) == REVOKED


def test_deleted_user_cannot_create_and_nothing_is_written(server: LiveServer, admin: httpx.Client) -> None:
    create_messages(admin)
    user, token, _ = _user(admin, READ_ALL, CREATE_ALL)
    with _socket(server, token) as ws:
        ok(admin.post("/items/messages", json={"text": "before"}))
        assert admin.delete(f"/users/{user}").status_code == 204
        try:  # the server may have told and closed the socket already (the change is also pushed)
            ws.send({"type": "items", "collection": "messages", "action": "create", "data": {"text": "ghost"}})
        except ConnectionClosed:
            pass
        frame = ws.recv(timeout=WAIT)
        assert frame["type"] == "auth" and frame["error"]["code"] == "INVALID_CREDENTIALS", frame
        assert ws.wait_closed(timeout=WAIT) == REVOKED
    assert [m["text"] for m in ok(admin.get("/items/messages"))] == ["before"]


def test_role_changed_to_a_less_privileged_one_limits_the_events(server: LiveServer, admin: httpx.Client) -> None:
    create_messages(admin)
    user, token, _ = _user(admin, READ_ALL)
    narrow = make_policy(admin, {**READ_ALL, "fields": ["id", "text"], "permissions": {"user": {"_eq": "ann"}}})
    with _socket(server, token) as ws:
        _subscribe(ws, "s")
        ok(admin.post("/items/messages", json={"text": "one", "user": "bob"}))
        assert ws.recv(timeout=WAIT)["data"][0] == {**ws_row(admin, "one")}
        ok(admin.patch(f"/users/{user}", json={"role": make_role(admin, narrow)}))
        ok(admin.post("/items/messages", json={"text": "two", "user": "bob"}))
        ok(admin.post("/items/messages", json={"text": "three", "user": "ann"}))
        event = ws.recv(timeout=WAIT)
        assert event["uid"] == "s" and event["event"] == "create", event
        assert [{k: v for k, v in row.items() if k != "id"} for row in event["data"]] == [{"text": "three"}]
        wait_dispatched(server)
        read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r"})
        assert [row["text"] for row in read["data"]] == ["three"]


def ws_row(admin: httpx.Client, text: str) -> dict[str, Any]:
    rows = ok(admin.get("/items/messages", params={"filter[text][_eq]": text}))
    row: dict[str, Any] = rows[0]
    return row


def test_a_change_after_the_socket_went_quiet_still_reaches_it(server: LiveServer, admin: httpx.Client) -> None:
    """A socket that neither sends nor receives is told too (the change is pushed, not checked lazily)."""
    create_messages(admin)
    user, token, _ = _user(admin, READ_ALL)
    with _socket(server, token) as ws:
        assert admin.delete(f"/users/{user}").status_code == 204
        assert ws.recv(timeout=WAIT)["error"]["code"] == "INVALID_CREDENTIALS"
        assert ws.wait_closed(timeout=WAIT) == REVOKED


def test_public_mode_keeps_a_revoked_socket_open_as_public(tmp_path: Path) -> None:
    """In ``public`` mode a revoked user is told, then carries on with the Public policy (as after a failed
    re-auth); what the Public policy cannot read ends."""
    env = {"WEBSOCKETS_REST_AUTH": "public", "WEBSOCKETS_HEARTBEAT_ENABLED": "false"}
    with scratch_database(tmp_path) as db, live_server({**db, **env}) as srv, srv.client() as admin:
        create_messages(admin)
        user, token, _ = _user(admin, READ_ALL)
        with _socket(srv, token) as ws:
            _subscribe(ws, "s")
            ok(admin.patch(f"/users/{user}", json={"status": "suspended"}))
            frames = [ws.recv(timeout=WAIT), ws.recv(timeout=WAIT)]
            assert frames[0]["type"] == "auth" and frames[0]["error"]["code"] == "INVALID_CREDENTIALS", frames
            assert frames[1]["type"] == "subscribe" and frames[1]["uid"] == "s", frames
            read = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r"})
            assert read["uid"] == "r" and read["error"]["code"] == "FORBIDDEN"  # still open, as public


def test_a_failed_reauth_in_public_mode_ends_what_the_public_may_not_read_at_once(tmp_path: Path) -> None:
    """In ``public`` mode a failed ``auth`` leaves the socket open as public: its subscriptions are checked
    against the Public policy then and there, not at their next event."""
    env = {"WEBSOCKETS_REST_AUTH": "public", "WEBSOCKETS_HEARTBEAT_ENABLED": "false"}
    with scratch_database(tmp_path) as db, live_server({**db, **env}) as srv, srv.client() as admin:
        create_messages(admin)
        _, token, _ = _user(admin, READ_ALL)
        with _socket(srv, token) as ws:
            _subscribe(ws, "s")
            failed = ws.request({"type": "auth", "access_token": "not-a-token", "uid": "a"})
            assert failed["uid"] == "a" and failed["error"]["code"] == "AUTH_FAILED", failed
            ended = ws.recv(timeout=3)
            assert ended["type"] == "subscribe" and ended["uid"] == "s" and ended["error"]["code"] == "FORBIDDEN"


def test_a_dropped_collection_ends_its_subscriptions(server: LiveServer, admin: httpx.Client) -> None:
    """Schema changes count too: a subscription to a collection that no longer exists ends with its uid."""
    create_messages(admin)
    create_messages(admin, "notes")
    with _socket(server, "admin-static-token") as ws:
        _subscribe(ws, "m")
        assert ws.request({"type": "subscribe", "collection": "notes", "uid": "n"})["event"] == "init"
        assert admin.delete("/collections/messages").status_code == 204
        ended = ws.recv(timeout=WAIT)
        assert ended["type"] == "subscribe" and ended["uid"] == "m" and ended["error"]["code"] == "FORBIDDEN", ended
        ok(admin.post("/items/notes", json={"text": "n1"}))
        event = ws.recv(timeout=WAIT)
        assert event["uid"] == "n" and event["event"] == "create", event


# ------------------------------------------------------------------------ two processes, one database


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    if live.test_db_client() == "sqlite3":
        pytest.skip("needs TIDEPOOL_TEST_DB=pg or mysql")
    env = {
        "REDIS": "redis://127.0.0.1:6379/0",
        "REDIS_BUS_NAMESPACE": f"tidepool-test:{uuid.uuid4().hex}",
        "WEBSOCKETS_HEARTBEAT_ENABLED": "false",
    }
    with scratch_database(tmp_path_factory.mktemp("revoke")) as db_env, live_server({**db_env, **env}) as one:
        with live_server({**db_env, **env}) as two:
            yield one, two


def test_an_access_change_on_one_server_reaches_a_socket_on_the_other(pair: tuple[LiveServer, LiveServer]) -> None:
    one, two = pair
    with one.client() as admin:
        create_messages(admin)
        user, token, policy = _user(admin, READ_ALL, CREATE_ALL)
        with two.client() as admin_two:
            # server two reloads its schema when it sees the collection (a poll of the database, or Redis): a
            # hang guard only, it returns as soon as it has (2 s was tight for a loaded machine)
            wait_until(lambda: admin_two.get("/items/messages").status_code == 200, 15)
        with _socket(two, token) as ws, _socket(two, token) as other:
            _subscribe(ws, "s")
            assert admin.delete(f"/permissions/{_permission_id(admin, policy, 'read')}").status_code == 204
            ended = ws.recv(timeout=WAIT)
            assert ended["type"] == "subscribe" and ended["uid"] == "s" and ended["error"]["code"] == "FORBIDDEN"
            ok(admin.patch(f"/users/{user}", json={"status": "suspended"}))
            for conn in (ws, other):
                assert conn.recv(timeout=WAIT)["error"]["code"] == "INVALID_CREDENTIALS"
                assert conn.wait_closed(timeout=WAIT) == REVOKED
            assert _count(admin) == 0


def test_a_reauth_as_someone_else_ends_the_subscriptions_they_may_not_read(
    server: LiveServer, admin: httpx.Client
) -> None:
    """Re-authenticating on an open socket is an access change like any other: a subscription the new identity
    cannot read (its collection, or a field its query filters on) ends at once with one error naming its uid.
    Before, it stayed registered and answered every later write, on rows the new user may not see too, with a
    FORBIDDEN frame: a clock of another user's activity in a collection it cannot read."""
    create_messages(admin)
    create_messages(admin, "notes")
    _, token, _ = _user(admin, {**READ_ALL, "fields": ["id", "text"], "permissions": {"user": {"_eq": "me"}}})
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": live.ADMIN_TOKEN})["status"] == "ok"
        init = ws.request({"type": "subscribe", "collection": "notes", "query": {"fields": ["*"]}, "uid": "notes"})
        assert init["event"] == "init"
        _subscribe(ws, "number", {"fields": ["id"], "filter": {"number": {"_gt": 1}}})
        _subscribe(ws, "text", {"fields": ["id", "text"]})
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        ended = [ws.recv(timeout=3), ws.recv(timeout=3)]
        assert sorted(f["uid"] for f in ended) == ["notes", "number"], ended
        assert all(f["type"] == "subscribe" and f["error"]["code"] == "FORBIDDEN" for f in ended), ended
        ok(admin.post("/items/notes", json={"text": "not yours"}))
        ok(admin.post("/items/messages", json={"text": "not yours", "user": "other", "number": 5}))
        ok(admin.post("/items/messages", json={"text": "yours", "user": "me", "number": 5}))
        event = ws.recv(timeout=3)  # the first frame after the auth reply: nothing came for the writes before
        assert (event["uid"], event["event"]) == ("text", "create"), event
        assert [row["text"] for row in event["data"]] == ["yours"]
        ws.quiet(0.5)
