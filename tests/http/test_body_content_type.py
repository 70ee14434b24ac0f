"""Bodies are JSON only when the request says so (issue 7 #14).

A cross-site ``<form>`` (``text/plain``, urlencoded, multipart) or a ``fetch`` without preflight can carry
cookies but cannot set ``Content-Type: application/json``. Directus 12.4.1 parses only JSON content types and
treats any other body as absent (asked of the real server: a ``text/plain`` login answers 400
``INVALID_PAYLOAD`` '"email" is required', a ``text/plain`` DELETE 400 ``INVALID_PAYLOAD``). Tidepool answers
400 ``INVALID_PAYLOAD`` for every such body and writes nothing.
"""

from __future__ import annotations

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
