"""One login limiter for every way in (issue 7 #3): REST json/cookie/session logins, REST refresh, and the
WebSocket ``auth`` frame with e-mail/password or a refresh token all spend from the same per-IP and per-e-mail
windows (``RATE_LIMITER_LOGIN_*``). Refused over REST: 429 ``REQUESTS_EXCEEDED``; over the socket: an
``auth`` error frame with ``REQUESTS_EXCEEDED`` (not ``AUTH_FAILED``: the credential was never looked at)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, live_server, scratch_database

POINTS = 3


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LiveServer]:
    env = {
        "RATE_LIMITER_LOGIN_ENABLED": "true",
        "RATE_LIMITER_LOGIN_POINTS": str(POINTS),
        "RATE_LIMITER_LOGIN_DURATION": "600",
    }
    with scratch_database(tmp_path) as db, live_server({**db, **env}) as server:
        yield server


def _ws_auth(server: LiveServer, **credentials: str) -> dict[str, Any]:
    with WS(server.ws_url) as ws:
        frame: dict[str, Any] = ws.request({"type": "auth", **credentials})
        return frame


def _limited_frame(frame: dict[str, Any]) -> None:
    assert frame["type"] == "auth" and frame["status"] == "error", frame
    assert frame["error"]["code"] == "REQUESTS_EXCEEDED", frame
    assert frame["error"]["message"].startswith("Too many requests, retry after ")


def _rest_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUESTS_EXCEEDED"


def test_wrong_passwords_over_the_socket_then_the_right_one_is_refused(limited: LiveServer) -> None:
    for _ in range(POINTS):
        assert _ws_auth(limited, email=ADMIN_EMAIL, password="wrong")["error"]["code"] == "AUTH_FAILED"
    _limited_frame(_ws_auth(limited, email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
    with limited.client(token=None) as anon:
        _rest_limited(anon.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        _rest_limited(
            anon.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "mode": "session"})
        )


def test_wrong_passwords_over_rest_limit_the_socket(limited: LiveServer) -> None:
    with limited.client(token=None) as anon:
        for _ in range(POINTS):
            assert anon.post("/auth/login", json={"email": ADMIN_EMAIL, "password": "no"}).status_code == 401
    _limited_frame(_ws_auth(limited, email=ADMIN_EMAIL, password=ADMIN_PASSWORD))


def test_refresh_tokens_spend_from_the_same_window(limited: LiveServer) -> None:
    with limited.client(token=None) as anon:
        refresh = anon.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()["data"][
            "refresh_token"
        ]
        for _ in range(POINTS - 1):
            assert anon.post("/auth/refresh", json={"refresh_token": "not-a-token"}).status_code == 401
        _rest_limited(anon.post("/auth/refresh", json={"refresh_token": refresh}))
    _limited_frame(_ws_auth(limited, refresh_token=refresh))


def test_a_limited_reauth_leaves_an_open_socket_as_it_was(limited: LiveServer) -> None:
    with WS(limited.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        with limited.client(token=None) as anon:
            for _ in range(POINTS):
                assert anon.post("/auth/login", json={"email": ADMIN_EMAIL, "password": "no"}).status_code == 401
        frame = ws.request({"type": "auth", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "uid": "b"})
        _limited_frame(frame)
        assert frame["uid"] == "b"
        assert ws.request({"type": "ping", "uid": "p"}) == {"type": "pong", "uid": "p"}  # still open


def test_static_tokens_are_not_logins(limited: LiveServer) -> None:
    """A token is not a guess at a password: authenticating with one never spends the window."""
    for _ in range(POINTS + 2):
        assert _ws_auth(limited, access_token="admin-static-token")["status"] == "ok"
    with limited.client(token=None) as anon:
        assert anon.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status_code == 200
