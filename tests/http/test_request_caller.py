"""Who a request says it is (``tidepool.http.context``): the token, address, user agent and origin read in one
pass over the raw headers are what Starlette's ``Headers.get`` (the first header of each name) gives."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from tidepool.http.context import token_of, where_of

HEADER_SETS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"authorization", b"Bearer abc")],
    [(b"authorization", b"bearer  abc "), (b"authorization", b"Bearer second")],
    [(b"user-agent", b"one"), (b"origin", b"https://a.example"), (b"user-agent", b"two")],
    [(b"origin", b""), (b"user-agent", b"x" * 2000), (b"authorization", b"Basic zzz"), (b"origin", b"o2")],
    [(b"host", b"h"), (b"authorization", b"Bearer \xe9t\xe9"), (b"user-agent", b"caf\xe9")],
]


def _request(headers: list[tuple[bytes, bytes]], query: bytes = b"access_token=from-query") -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": query}
    return Request({**scope, "client": ("10.0.0.1", 4000)})


@pytest.mark.parametrize("headers", HEADER_SETS)
def test_the_caller_is_what_starlettes_headers_give(headers: list[tuple[bytes, bytes]]) -> None:
    request = _request(headers)
    seen = request.headers
    authorization = seen.get("authorization", "")
    expected_token = authorization[7:].strip() or None if authorization.lower().startswith("bearer ") else "from-query"
    assert token_of(request) == expected_token
    assert where_of(request) == {
        "ip": "10.0.0.1",
        "user_agent": (seen.get("user-agent") or "")[:1024] or None,
        "origin": seen.get("origin"),
    }
