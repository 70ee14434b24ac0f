"""CORS and ``OPTIONS`` over real HTTP with Directus's ``CORS_*`` settings (what its ``cors`` middleware sends),
and Express's plain ``OPTIONS`` answer when CORS is off (recorded from Directus 12.4.1: 200, ``Allow``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.servers import module_server
from tidepool.origins import OriginPolicy

srv = module_server(
    "cors",
    env={"CORS_ENABLED": "true", "CORS_ORIGIN": "https://app.example,regex:^https://.*\\.partner\\.example$"},
)

PREFLIGHT = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}


@pytest.fixture
def client(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=None) as c:
        yield c


def test_preflight_is_204_on_every_path(client: httpx.Client) -> None:
    for path in ("/items/messages", "/server/info", "/auth/login", "/nowhere/at/all"):
        response = client.options(path, headers=PREFLIGHT)
        assert response.status_code == 204, path
        assert response.content == b"" and response.headers["content-length"] == "0"
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        assert response.headers["access-control-allow-credentials"] == "true"
        assert response.headers["access-control-allow-methods"] == "GET,POST,PATCH,DELETE"
        assert response.headers["access-control-allow-headers"] == "Content-Type,Authorization"
        assert response.headers["access-control-max-age"] == "18000"
        assert response.headers["access-control-expose-headers"] == "Content-Range"
        assert response.headers["vary"] == "Origin"


def test_regex_entries_and_unknown_origins(client: httpx.Client) -> None:
    partner = client.options("/items/x", headers={**PREFLIGHT, "Origin": "https://eu.partner.example"})
    assert partner.headers["access-control-allow-origin"] == "https://eu.partner.example"
    stranger = client.options("/items/x", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert stranger.status_code == 204  # the cors package answers, and leaves the origin out: the browser refuses
    assert "access-control-allow-origin" not in stranger.headers


def test_actual_requests_carry_the_headers_also_on_errors(client: httpx.Client) -> None:
    ok = client.get("/server/ping", headers={"Origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert ok.headers["access-control-expose-headers"] == "Content-Range"
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-methods" not in ok.headers
    refused = client.get("/items/nope", headers={"Origin": "https://app.example"})
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in client.get("/server/ping", headers={"Origin": "https://x.test"}).headers


@pytest.fixture
def other_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with scratch_database(tmp_path) as db_env, live_server({**db_env, **request.param}) as server:
        yield server


@pytest.mark.parametrize(
    "other_settings",
    [
        {
            "CORS_ENABLED": "true",
            "CORS_ORIGIN": "*",
            "CORS_CREDENTIALS": "false",
            "CORS_METHODS": "GET, POST",
            "CORS_ALLOWED_HEADERS": "",
            "CORS_EXPOSED_HEADERS": "",
            "CORS_MAX_AGE": "60",
        }
    ],
    indirect=True,
)
def test_any_origin_without_credentials(other_settings: LiveServer) -> None:
    with other_settings.client(token=None) as client:
        headers = {**PREFLIGHT, "Access-Control-Request-Headers": "x-custom"}
        response = client.options("/items/messages", headers=headers)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["access-control-allow-methods"] == "GET,POST"
    # no CORS_ALLOWED_HEADERS: the request's own are allowed
    assert response.headers["access-control-allow-headers"] == "x-custom"
    assert response.headers["vary"] == "Access-Control-Request-Headers"
    assert response.headers["access-control-max-age"] == "60"
    assert "access-control-expose-headers" not in response.headers


# Express's Allow (Directus 12.4.1 declares each path's methods in this order; SEARCH where it routes it).
ALLOW = {
    "/items/messages/1": "GET,HEAD,PATCH,DELETE",
    "/users": "POST,GET,HEAD,SEARCH,PATCH,DELETE",
    "/files": "POST,GET,HEAD,SEARCH,PATCH,DELETE",
    "/notifications": "POST,GET,HEAD,SEARCH,PATCH,DELETE",
    "/activity": "SEARCH,GET,HEAD",
    "/activity/1": "GET,HEAD",
    "/settings": "GET,HEAD,PATCH",
}


@pytest.mark.parametrize("other_settings", [{"CORS_ENABLED": "false"}, {"CORS_ENABLED": "true"}], indirect=True)
def test_without_cors_options_answers_allow_as_express(other_settings: LiveServer) -> None:
    """``CORS_ENABLED=false``, or ``CORS_ORIGIN`` left at ``false``: no CORS header; Express's OPTIONS answer."""
    with other_settings.client(token=None) as client:
        response = client.options("/items/messages", headers=PREFLIGHT)
        assert response.status_code == 200
        assert response.headers["allow"] == "POST,SEARCH,GET,HEAD,PATCH,DELETE"
        assert response.text == response.headers["allow"]
        for path, allow in ALLOW.items():
            assert client.options(path).headers["allow"] == allow, path
        assert not any(name.startswith("access-control-") for name in response.headers)
        assert client.options("/server/ping").headers["allow"] == "GET,HEAD"
        missing = client.options("/nowhere/at/all")
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"


@pytest.mark.parametrize(
    ("raw", "origin", "header"),
    [
        ("true", "https://a.test", "https://a.test"),
        ("true", None, None),
        ("*", "https://a.test", "*"),
        ("https://fixed.test", "https://other.test", "https://fixed.test"),  # a single string is always sent
        ("https://a.test,https://b.test", "https://b.test", "https://b.test"),
        ("https://a.test,https://b.test", "https://c.test", None),
        ('["https://a.test", "regex:\\\\.b\\\\.test$"]', "https://x.b.test", "https://x.b.test"),
        ("regex:^https://", "https://any.test", "https://any.test"),
        ("regex:^https://", "http://any.test", None),
        ("/\\.legacy\\.test$/", "https://x.legacy.test", "https://x.legacy.test"),
    ],
)
def test_cors_origin_is_read_as_directus_reads_it(raw: str, origin: str | None, header: str | None) -> None:
    assert OriginPolicy.parse(raw).header(origin) == header


def test_false_and_empty_turn_cors_off() -> None:
    assert OriginPolicy.parse("false").kind == "off" and OriginPolicy.parse("").kind == "off"
