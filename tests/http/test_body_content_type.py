"""Bodies are JSON only when the request says so (issue 7 #14), and may come gzip- or deflate-compressed.

A cross-site ``<form>`` (``text/plain``, urlencoded, multipart) or a ``fetch`` without preflight can carry
cookies but cannot set ``Content-Type: application/json``. Directus 12.4.1 parses only JSON content types and
treats any other body as absent (asked of the real server: a ``text/plain`` login answers 400
``INVALID_PAYLOAD`` '"email" is required', a ``text/plain`` DELETE 400 ``INVALID_PAYLOAD``). Tidepool answers
400 ``INVALID_PAYLOAD`` for every such body and writes nothing.

A JSON body's ``Content-Encoding`` is undone as Directus's parser undoes it (asked of Directus 12.4.1: gzip and
deflate, any case, are inflated; ``br``, ``x-gzip`` and anything else are 400 ``INVALID_PAYLOAD`` 'unsupported
content encoding "br"'; a stream that does not inflate gives zlib's reason). Tidepool ignored the header: a
compressed body was refused as invalid JSON and an unknown encoding parsed as if plain.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server

NOT_JSON = [
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    None,
]


srv = module_server("db", seed=messages_collection)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


@pytest.fixture
def anon(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=None) as client:
        yield client


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_a_json_text_in_a_non_json_request_writes_nothing(admin: httpx.Client, content_type: str | None) -> None:
    before = admin.get("/items/messages", params={"filter[text][_eq]": "cross-site"}).json()["data"]
    headers = {"content-type": content_type} if content_type else {}
    response = admin.post("/items/messages", content=b'{"text":"cross-site"}', headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
    assert before == [] and admin.get("/items/messages").json()["data"] == []


def test_a_cookie_login_from_a_form_is_refused(anon: httpx.Client) -> None:
    body = b'{"email":"admin@example.com","password":"admin-pass","mode":"session"}'
    response = anon.post("/auth/login", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
    assert "directus_session_token" not in response.cookies


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json"],
)
def test_json_content_types_are_parsed(admin: httpx.Client, content_type: str) -> None:
    response = admin.post("/items/messages", content=b'{"text":"ok"}', headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["text"] == "ok"
    admin.delete(f"/items/messages/{response.json()['data']['id']}").raise_for_status()


def _compressed(encoding: str, body: bytes) -> bytes:
    return gzip.compress(body) if encoding == "gzip" else zlib.compress(body)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "GZIP"])
def test_a_compressed_json_body_is_inflated(admin: httpx.Client, encoding: str) -> None:
    """Directus's parser (Express's ``json()``) inflates gzip and deflate bodies: they were refused as
    invalid JSON."""
    body = _compressed(encoding.lower(), b'{"text":"compressed"}')
    headers = {"content-type": "application/json", "content-encoding": encoding}
    response = admin.post("/items/messages", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["text"] == "compressed"
    admin.delete(f"/items/messages/{response.json()['data']['id']}").raise_for_status()


PLAIN = b'{"text":"not decoded"}'


@pytest.mark.parametrize(
    ("encoding", "body", "reason"),
    [
        ("X-Unknown", PLAIN, 'unsupported content encoding "x-unknown"'),  # was parsed as if plain
        ("br", PLAIN, 'unsupported content encoding "br"'),
        ("x-gzip", gzip.compress(PLAIN), 'unsupported content encoding "x-gzip"'),
        ("gzip", PLAIN, "incorrect header check"),  # was parsed as if plain
        ("deflate", gzip.compress(PLAIN), "incorrect header check"),
        ("gzip", gzip.compress(PLAIN)[:-6], "unexpected end of file"),
    ],
    ids=["unknown", "br", "x-gzip", "gzip-not-gzip", "deflate-of-gzip", "gzip-cut-short"],
)
def test_a_body_that_does_not_decode_writes_nothing(
    admin: httpx.Client, encoding: str, body: bytes, reason: str
) -> None:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    response = admin.post("/items/messages", content=body, headers=headers)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"] == {"reason": reason, "code": "INVALID_PAYLOAD"}
    assert error["message"] == f"Invalid payload. {reason}."
    assert admin.get("/items/messages").json()["data"] == []


def test_max_payload_size_bounds_the_inflated_body(admin: httpx.Client) -> None:
    """A 5 KB gzip of 5 MB is over the 1 MB ``MAX_PAYLOAD_SIZE`` once inflated, and is never inflated whole."""
    body = gzip.compress(b'{"text":"' + b" " * 5_000_000 + b'"}')
    assert len(body) < 10_000
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    response = admin.post("/items/messages", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"] == {
        "reason": "request entity too large",
        "code": "INVALID_PAYLOAD",
    }
    assert admin.get("/items/messages").json()["data"] == []
