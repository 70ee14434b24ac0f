"""A socket that authenticated with a session-mode token is told when that session ends.

``/auth/logout`` deletes a session row; a session-mode JWT (the ``directus_session_token`` cookie) is only
valid while its row lives, so REST refuses it at once. An open socket holding it used to go on, because a
logout moved no version counter and nothing re-checked the sockets. Now it gets the ``auth`` error and the
4401 close a suspended user's socket gets; sockets of other sessions and tokens carry on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import make_policy, ok
from tests.realtime.test_subscriptions_helpers import wait_until
from tests.realtime.wsclient import WS
from tests.support import live
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.seed import create_messages

REVOKED = 4401
COOKIE = "directus_session_token"
READ_ALL = {"collection": "messages", "action": "read", "fields": ["*"]}


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"WEBSOCKETS_HEARTBEAT_ENABLED": "false"}


def _user(admin: httpx.Client) -> tuple[str, str]:
    """(e-mail, password) of a user who may read ``messages``."""
    email, password = f"s-{uuid.uuid4().hex[:8]}@example.com", "pw-secret"
    policy = make_policy(admin, READ_ALL)
    ok(admin.post("/users", json={"email": email, "password": password, "policies": [{"policy": policy}]}))
    return email, password


def _session_login(server: LiveServer, email: str, password: str) -> httpx.Client:
    """A client holding a session cookie (login mode ``session``)."""
    client = server.client(token=None)
    response = client.post("/auth/login", json={"email": email, "password": password, "mode": "session"})
    assert response.status_code == 200, response.text
    assert client.cookies.get(COOKIE)
    return client


def _socket(server: LiveServer, token: str) -> WS:
    ws = WS(server.ws_url)
    assert ws.request({"type": "auth", "access_token": token, "uid": "a"})["status"] == "ok"
    return ws


def _rest_reads(server: LiveServer, token: str) -> bool:
    with server.client(token=token) as http:
        return http.get("/items/messages").status_code == 200


def _read(ws: WS) -> dict[str, Any]:
    reply: dict[str, Any] = ws.request({"type": "items", "collection": "messages", "action": "read", "uid": "r"})
    return reply


def test_logout_of_a_session_closes_the_sockets_of_that_session_only(server: LiveServer, admin: httpx.Client) -> None:
    create_messages(admin)
    email, password = _user(admin)
    ending, staying = _session_login(server, email, password), _session_login(server, email, password)
    with closing(ending), closing(staying):
        doomed = _socket(server, str(ending.cookies.get(COOKIE)))
        other_session = _socket(server, str(staying.cookies.get(COOKIE)))
        static = _socket(server, ADMIN_TOKEN)
        with doomed, other_session, static:
            assert _read(doomed) == {"type": "items", "data": [], "uid": "r"}
            assert ending.post("/auth/logout", json={"mode": "session"}).status_code == 204
            assert ending.get("/users/me").status_code == 401  # REST refuses the ended session at once
            frame = doomed.recv(timeout=3)
            assert frame == {
                "type": "auth",
                "status": "error",
                "error": {"code": "INVALID_CREDENTIALS", "message": "Invalid user credentials."},
            }
            assert doomed.wait_closed(timeout=3) == REVOKED
            for ws in (other_session, static):
                assert _read(ws) == {"type": "items", "data": [], "uid": "r"}


def test_a_session_mode_refresh_ends_the_old_session_for_its_sockets(server: LiveServer, admin: httpx.Client) -> None:
    """A session-mode refresh rotates the session: the old cookie stops working over REST, and so does a socket
    holding it; a socket opened with the new cookie is unaffected."""
    create_messages(admin)
    email, password = _user(admin)
    client = _session_login(server, email, password)
    with closing(client), _socket(server, str(client.cookies.get(COOKIE))) as old:
        assert client.post("/auth/refresh", json={"mode": "session"}).status_code == 200
        with _socket(server, str(client.cookies.get(COOKIE))) as new:
            assert old.recv(timeout=3)["error"]["code"] == "INVALID_CREDENTIALS"
            assert old.wait_closed(timeout=3) == REVOKED
            assert _read(new) == {"type": "items", "data": [], "uid": "r"}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers on one database, without Redis: only the ``sessions`` version marker connects them."""
    if live.test_db_client() == "sqlite3":
        pytest.skip("needs TIDEPOOL_TEST_DB=pg or mysql")
    env = {"WEBSOCKETS_HEARTBEAT_ENABLED": "false"}
    with scratch_database(tmp_path) as db_env, live_server({**db_env, **env}) as one:
        with live_server({**db_env, **env}) as two:
            yield one, two


def test_a_logout_on_one_server_closes_the_socket_on_the_other(pair: tuple[LiveServer, LiveServer]) -> None:
    one, two = pair
    with one.client() as admin:
        create_messages(admin)
        email, password = _user(admin)
    client = _session_login(one, email, password)
    session = str(client.cookies.get(COOKIE))
    # Server two learns of the new collection and grant by polling (CACHE_SYNC_INTERVAL): wait for it first,
    # or under load the first read can beat the poll and answer FORBIDDEN.
    wait_until(lambda: _rest_reads(two, session) and _rest_reads(two, ADMIN_TOKEN))
    with closing(client), _socket(two, session) as ws, _socket(two, ADMIN_TOKEN) as static:
        assert _read(ws) == {"type": "items", "data": [], "uid": "r"}
        assert client.post("/auth/logout", json={"mode": "session"}).status_code == 204
        assert ws.recv(timeout=3)["error"]["code"] == "INVALID_CREDENTIALS"
        assert ws.wait_closed(timeout=3) == REVOKED
        assert _read(static) == {"type": "items", "data": [], "uid": "r"}
