"""A NUL character (U+0000) in a client's text is the client's 400 on every engine and path, never a 500.

PostgreSQL stores no NUL in any text type (``invalid byte sequence for encoding "UTF8": 0x00``, SQLSTATE
22021); SQLite and MySQL store it. A create or update (REST and WebSocket, on the driver path and on
SQLAlchemy's) and a read whose filter or search holds one answered 500 on PostgreSQL. Now each answers what it
answers elsewhere (the value stored and read back as sent) or, where the database cannot hold it, Directus's
``INVALID_PAYLOAD`` for a write (nothing written) and ``INVALID_QUERY`` for a read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import module_server

NUL = "a\u0000b"


def _seed(server: LiveServer) -> None:
    fields = [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "name", "type": "string", "schema": {}},
        {"field": "body", "type": "text", "schema": {}},
    ]
    with server.client() as admin:
        assert (
            admin.post("/collections", json={"collection": "notes", "schema": {}, "fields": fields}).status_code == 200
        )
        assert admin.post("/items/notes", json={"name": "plain"}).status_code == 200


srv = module_server("unstorable-text", seed=_seed)


def _noop(*args: Any) -> None:
    return None


@contextmanager
def _path(server: LiveServer, direct: bool) -> Iterator[None]:
    """The driver's own path, or SQLAlchemy's (a cursor listener turns the direct paths off)."""
    engine = server.runtime.engine.sync_engine
    if not direct:
        sa.event.listen(engine, "before_cursor_execute", _noop)
    try:
        yield
    finally:
        if not direct:
            sa.event.remove(engine, "before_cursor_execute", _noop)


def _count(srv: LiveServer) -> int:
    with srv.client() as admin:
        return len(admin.get("/items/notes", params={"limit": -1}).json()["data"])


@pytest.mark.parametrize("direct", [True, False], ids=["driver-path", "sqlalchemy-path"])
@pytest.mark.parametrize("field", ["name", "body"])
def test_a_nul_in_a_written_value_is_stored_or_a_400(srv: LiveServer, direct: bool, field: str) -> None:
    before = _count(srv)
    with _path(srv, direct), srv.client() as admin:
        created = admin.post("/items/notes", json={field: NUL})
        updated = admin.patch("/items/notes/1", json={field: NUL})
    for answer in (created, updated):
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 200:
            assert answer.json()["data"][field] == NUL
        else:
            assert answer.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD", answer.text
    assert _count(srv) == before + (created.status_code == 200)


def test_a_nul_in_a_websocket_create_is_stored_or_an_error_frame(srv: LiveServer) -> None:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        reply = ws.request({"type": "items", "collection": "notes", "action": "create", "data": {"name": NUL}})
    if reply.get("status") == "error":
        assert reply["error"]["code"] == "INVALID_PAYLOAD", reply
    else:
        assert reply["data"]["name"] == NUL, reply


@pytest.mark.parametrize("direct", [True, False], ids=["driver-path", "sqlalchemy-path"])
@pytest.mark.parametrize(
    "params",
    [{"filter[name][_eq]": NUL}, {"filter[body][_contains]": NUL}, {"search": NUL}],
    ids=["eq", "contains", "search"],
)
def test_a_nul_in_a_filter_or_search_is_an_answer_or_a_400(
    srv: LiveServer, direct: bool, params: dict[str, str]
) -> None:
    with _path(srv, direct), srv.client() as admin:
        answer = admin.get("/items/notes", params=params)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert answer.json()["errors"][0]["extensions"]["code"] == "INVALID_QUERY", answer.text


def test_a_refused_read_keeps_its_pooled_connection(srv: LiveServer) -> None:
    """A read the database refuses for the client's value (a NUL in a filter on PostgreSQL) answers 400 and
    leaves its connection in the pool: the driver path gives it back instead of discarding it, so a client
    repeating such reads cannot make the server open a connection (a PostgreSQL backend) per request.

    What is counted is the pool's discards (``invalidate``), which only a failed statement causes, not its new
    connections: the server's own background reads (the version watcher's poll) may overlap a request and make
    the pool open one more, which said nothing about the refused reads (a CI run failed on that)."""
    discarded: list[object] = []

    def invalidated(*args: Any) -> None:
        discarded.append(args[0])

    pool = srv.runtime.engine.sync_engine.pool
    with srv.client() as admin:
        assert admin.post("/items/notes", json={"name": "kept"}).status_code == 200
        sa.event.listen(pool, "invalidate", invalidated)
        try:
            answers = [admin.get("/items/notes", params={"filter[name][_eq]": NUL}) for _ in range(6)]
            after = admin.get("/items/notes", params={"filter[name][_eq]": "kept"})
        finally:
            sa.event.remove(pool, "invalidate", invalidated)
    for answer in answers:
        assert answer.status_code in (200, 400), answer.text
    assert after.status_code == 200 and len(after.json()["data"]) == 1
    assert discarded == [], f"{len(discarded)} connection(s) discarded for 6 refused reads"


@pytest.mark.parametrize("direct", [True, False], ids=["driver-path", "sqlalchemy-path"])
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_nul_in_a_write_by_query_filter_is_the_query_error(srv: LiveServer, direct: bool, method: str) -> None:
    """A write by query resolves its keys with a read first, so a NUL in its filter is that read's
    ``INVALID_QUERY`` (as ``GET`` answers), never the ``INVALID_PAYLOAD`` of a written value; nothing changes.
    (Reported as answering ``INVALID_PAYLOAD``; main at 038f12f already answers ``INVALID_QUERY``: the key read
    is a SELECT, which the engine's ``handle_error`` hook maps with ``reading=True``. This pins it.)"""
    before = _count(srv)
    body: dict[str, Any] = {"query": {"filter": {"name": {"_eq": NUL}}}}
    if method == "PATCH":
        body["data"] = {"body": "changed"}
    with _path(srv, direct), srv.client() as admin:
        answer = admin.request(method, "/items/notes", json=body)
    assert answer.status_code in (200, 204, 400), answer.text  # SQLite and MySQL store NUL: rows may match
    if answer.status_code == 400:
        assert answer.json()["errors"][0]["extensions"]["code"] == "INVALID_QUERY", answer.text
        assert _count(srv) == before
