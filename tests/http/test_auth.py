"""Auth over real HTTP: login modes, JWT shape, refresh rotation, logout, token errors, suspension, rate limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.http.accounts_support import error, make_user, ok
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, live_server, scratch_database
from tests.support.servers import module_server

SECRET = "test-secret-with-enough-length-for-hs256-signing"


srv = module_server("auth")


@pytest.fixture
def anon(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=None) as client:
        yield client


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def login(anon: httpx.Client, **extra: str) -> httpx.Response:
    return anon.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, **extra})


def me(anon: httpx.Client, token: str) -> httpx.Response:
    return anon.get("/users/me", headers={"Authorization": f"Bearer {token}"})


def test_json_login_returns_directus_shape_and_claims(anon: httpx.Client) -> None:
    data = ok(login(anon))
    assert set(data) == {"access_token", "expires", "refresh_token"}
    assert data["expires"] == 900_000
    assert len(data["refresh_token"]) == 64
    claims = jwt.decode(data["access_token"], SECRET, algorithms=["HS256"], issuer="directus")
    assert {"id", "role", "app_access", "admin_access", "iat", "exp", "iss"} <= set(claims)
    assert claims["admin_access"] is True and claims["app_access"] is True
    assert claims["exp"] - claims["iat"] == 900
    assert "session" not in claims
    assert ok(me(anon, data["access_token"]))["email"] == ADMIN_EMAIL


def test_email_is_case_insensitive(anon: httpx.Client) -> None:
    ok(anon.post("/auth/login", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}))


@pytest.mark.parametrize(
    "body",
    [{"email": ADMIN_EMAIL, "password": "wrong"}, {"email": "nobody@example.com", "password": ADMIN_PASSWORD}],
)
def test_bad_credentials(anon: httpx.Client, body: dict[str, str]) -> None:
    assert error(anon.post("/auth/login", json=body), 401, "INVALID_CREDENTIALS") == "Invalid user credentials."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"password": "x"}, 'Invalid payload. "email" is required.'),
        ({"email": ADMIN_EMAIL}, 'Invalid payload. "password" is required.'),
        ({"email": ADMIN_EMAIL, "password": "x", "mode": "bogus"}, 'Invalid payload. "mode" must be one of'),
    ],
)
def test_login_payload_errors(anon: httpx.Client, body: dict[str, str], message: str) -> None:
    assert error(anon.post("/auth/login", json=body), 400, "INVALID_PAYLOAD").startswith(message)


def test_json_refresh_rotates_and_old_token_dies(anon: httpx.Client) -> None:
    first = ok(login(anon))
    second = ok(anon.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}))
    assert set(second) == {"access_token", "expires", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    again = anon.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert error(again, 401, "INVALID_CREDENTIALS") == "Invalid user credentials."
    ok(anon.post("/auth/refresh", json={"refresh_token": second["refresh_token"]}))


def test_refresh_without_token_is_invalid_payload(anon: httpx.Client) -> None:
    message = error(anon.post("/auth/refresh", json={}), 400, "INVALID_PAYLOAD")
    assert message == "Invalid payload. The refresh token is required in either the payload or cookie."
    error(anon.post("/auth/refresh"), 400, "INVALID_PAYLOAD")


def test_cookie_mode_sets_refresh_cookie_and_refreshes_from_it(srv: LiveServer) -> None:
    with srv.client(token=None) as client:
        response = login(client, mode="cookie")
        data = ok(response)
        assert set(data) == {"access_token", "expires"}
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("directus_refresh_token=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        old = client.cookies["directus_refresh_token"]
        refreshed = client.post("/auth/refresh")  # mode inferred: cookie
        assert set(ok(refreshed)) == {"access_token", "expires"}
        assert client.cookies["directus_refresh_token"] != old
        stale = client.post("/auth/refresh", json={"refresh_token": old})
        error(stale, 401, "INVALID_CREDENTIALS")
        assert client.post("/auth/logout").status_code == 204
        assert "directus_refresh_token" not in client.cookies
        error(client.post("/auth/refresh", json={"mode": "cookie"}), 400, "INVALID_PAYLOAD")


def test_session_mode_cookie_authenticates_and_logout_kills_it(srv: LiveServer) -> None:
    with srv.client(token=None) as client:
        response = login(client, mode="session")
        assert ok(response) == {"expires": 86_400_000}
        session_jwt = client.cookies["directus_session_token"]
        claims = jwt.decode(session_jwt, SECRET, algorithms=["HS256"], issuer="directus")
        assert isinstance(claims["session"], str) and claims["exp"] - claims["iat"] == 86_400
        assert ok(client.get("/users/me"))["email"] == ADMIN_EMAIL
        assert ok(client.post("/auth/refresh", json={"mode": "session"})) == {"expires": 86_400_000}
        rotated = client.cookies["directus_session_token"]
        assert rotated != session_jwt
        with srv.client(token=session_jwt) as old:
            error(old.get("/users/me"), 401, "INVALID_CREDENTIALS")  # its session was rotated away
        assert client.post("/auth/logout", json={"mode": "session"}).status_code == 204
        with srv.client(token=rotated) as after:
            error(after.get("/users/me"), 401, "INVALID_CREDENTIALS")


def test_logout_json_ends_the_session(anon: httpx.Client) -> None:
    data = ok(login(anon))
    response = anon.post("/auth/logout", json={"refresh_token": data["refresh_token"]})
    assert response.status_code == 204 and response.content == b""
    error(anon.post("/auth/refresh", json={"refresh_token": data["refresh_token"]}), 401, "INVALID_CREDENTIALS")


def test_expired_and_forged_jwts(anon: httpx.Client, admin: httpx.Client) -> None:
    user_id = ok(admin.get("/users/me"))["id"]
    now = int(time.time())
    expired = jwt.encode({"id": user_id, "role": None, "iat": now - 100, "exp": now - 10, "iss": "directus"}, SECRET)
    assert error(me(anon, expired), 401, "TOKEN_EXPIRED") == "Token expired."
    forged = jwt.encode({"id": user_id, "role": None, "iat": now, "exp": now + 60, "iss": "directus"}, "x" * 40)
    error(me(anon, forged), 403, "INVALID_TOKEN")
    error(me(anon, "not-a-token"), 401, "INVALID_CREDENTIALS")


def test_static_token_in_query_string_and_masked(srv: LiveServer, admin: httpx.Client) -> None:
    user_id, token = make_user(admin)
    with srv.client(token=None) as client:
        assert ok(client.get("/users/me", params={"access_token": token}))["id"] == user_id
    assert ok(admin.get(f"/users/{user_id}"))["token"] == "**********"


def test_suspended_user_cannot_log_in_or_use_tokens(srv: LiveServer, admin: httpx.Client, anon: httpx.Client) -> None:
    user_id, token = make_user(admin)
    email = ok(admin.get(f"/users/{user_id}"))["email"]
    access = ok(anon.post("/auth/login", json={"email": email, "password": "pw-secret"}))["access_token"]
    ok(admin.patch(f"/users/{user_id}", json={"status": "suspended"}))
    login_again = anon.post("/auth/login", json={"email": email, "password": "pw-secret"})
    assert error(login_again, 401, "USER_SUSPENDED") == "User suspended."
    error(anon.post("/auth/login", json={"email": email, "password": "bad"}), 401, "INVALID_CREDENTIALS")
    with srv.client(token=token) as client:
        error(client.get("/users/me"), 401, "INVALID_CREDENTIALS")
    error(me(anon, access), 401, "INVALID_CREDENTIALS")


def test_login_rate_limit_per_email_and_ip(tmp_path: Path) -> None:
    env = {"RATE_LIMITER_LOGIN_ENABLED": "true", "RATE_LIMITER_LOGIN_POINTS": "3", "RATE_LIMITER_LOGIN_DURATION": "60"}
    with scratch_database(tmp_path) as db, live_server({**db, **env}) as server, server.client(token=None) as client:
        for _ in range(3):
            error(
                client.post("/auth/login", json={"email": "x@example.com", "password": "no"}),
                401,
                "INVALID_CREDENTIALS",
            )
        blocked = client.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        message = error(blocked, 429, "REQUESTS_EXCEEDED")  # same IP, even for another e-mail
        assert message.startswith("Too many requests, retry after ")
