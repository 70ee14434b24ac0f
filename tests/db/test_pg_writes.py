"""A create on PostgreSQL stores and refuses exactly what SQLAlchemy's path stores and refuses.

``tidepool.db.pg_writes`` sends a create's item INSERT and its history rows to asyncpg directly. The same
REST creates are made twice on one live server: once on that path, once with a (no-op) cursor-event
listener on the engine, which turns it off (``pg_writes.serves``) so SQLAlchemy runs the same writes. Then:

- the two rows of a collection with a field of every type a create writes (string, text, integers, float,
  decimal, boolean, JSON, CSV, UUID, timestamp, dateTime, date, time, a hash, an m2o) are equal column for
  column as stored, and so are their activity and revision rows (ids and times aside);
- every constraint the database enforces (unique, not null, foreign key, too long, out of range) answers the
  same status and body on both paths.

On another engine the path does not serve writes, and the test says so instead of passing vacuously.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support.live import LiveServer
from tests.support.servers import module_server
from tidepool import eventlog
from tidepool.db import pg_writes, system
from tidepool.services import pg_create, pg_logged

KINDS = {
    "collection": "kinds",
    "schema": {},
    "meta": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "name", "type": "string", "schema": {"max_length": 12}},
        {"field": "code", "type": "string", "schema": {"is_unique": True}},
        {"field": "needed", "type": "string", "schema": {"is_nullable": False, "default_value": "x"}},
        {"field": "body", "type": "text", "schema": {}},
        {"field": "qty", "type": "integer", "schema": {}},
        {"field": "big", "type": "bigInteger", "schema": {}},
        {"field": "ratio", "type": "float", "schema": {}},
        {"field": "amount", "type": "decimal", "schema": {"numeric_precision": 10, "numeric_scale": 2}},
        {"field": "flag", "type": "boolean", "schema": {}},
        {"field": "doc", "type": "json", "schema": {}},
        {"field": "tags", "type": "csv", "schema": {}},
        {"field": "ref", "type": "uuid", "schema": {}},
        {"field": "at", "type": "timestamp", "schema": {}},
        {"field": "moment", "type": "dateTime", "schema": {}},
        {"field": "day", "type": "date", "schema": {}},
        {"field": "clock", "type": "time", "schema": {}},
        {"field": "secret", "type": "hash", "schema": {}, "meta": {"special": ["hash"]}},
    ],
}
FULL: dict[str, Any] = {
    "name": "a name",
    "body": "line one\nline 'two' \"quoted\" ünïcödé",
    "qty": -42,
    "big": 9007199254740993,
    "ratio": 1.5,
    "amount": "12.34",
    "flag": True,
    "doc": {"n": 1, "list": [1, "two", None, {"deep": False}], "text": "ü"},
    "tags": ["a", "b c", "d"],
    "ref": "8a1a3c2e-4d5f-4a6b-9c7d-0e1f2a3b4c5d",
    "at": "2026-03-04T05:06:07.123Z",
    "moment": "2026-03-04T05:06:07",
    "day": "2026-03-04",
    "clock": "05:06:07",
    "secret": "correct horse",
}
SPARSE: dict[str, Any] = {"name": None, "doc": None, "flag": False, "tags": [], "doc2": "ignored"}
VOLATILE = {"id", "secret"}  # the key, and a hash salted anew each time (checked to be a hash below)


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        assert admin.post("/collections", json=KINDS).status_code == 200
        parent = {"field": "parent", "type": "integer", "schema": {}, "meta": {"special": ["m2o"]}}
        assert admin.post("/fields/kinds", json=parent).status_code == 200
        relation = {"collection": "kinds", "field": "parent", "related_collection": "kinds"}
        assert admin.post("/relations", json=relation).status_code == 200


srv = module_server("pg-writes", seed=_seed)


@pytest.fixture(autouse=True)
def _postgres_only(srv: LiveServer) -> None:
    if srv.runtime.engine.dialect.name != "postgresql":
        pytest.skip("pg_writes serves PostgreSQL only; other engines keep SQLAlchemy's path")


def _noop(*args: Any) -> None:
    return None


@contextmanager
def _through_sqlalchemy(server: LiveServer) -> Iterator[None]:
    """SQLAlchemy's own path: a cursor-event listener (which must see every statement) turns the direct one off."""
    engine = server.runtime.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", _noop)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", _noop)


def _create(server: LiveServer, body: dict[str, Any]) -> httpx.Response:
    with server.client() as admin:
        return admin.post("/items/kinds", json=body)


def _both(server: LiveServer, body: dict[str, Any], reaches_database: bool = True) -> tuple[httpx.Response, ...]:
    """The same create on the direct path, then on SQLAlchemy's; checks the direct path did serve it (unless
    the payload's own checks refuse it before any statement)."""
    served = _direct_runs()
    fast = _create(server, body)
    ran = _direct_runs() > served
    assert ran == reaches_database, "the direct path did not run" if reaches_database else "no statement expected"
    with _through_sqlalchemy(server):
        slow = _create(server, body)
    return fast, slow


def _direct_runs() -> int:
    """Statements the direct paths made or reused: a create's INSERT in a transaction, or the one-statement
    create (``services/pg_create.py``)."""
    caches = (pg_writes.insert_statement.cache_info(), pg_create._statement.cache_info())
    return sum(info.hits + info.misses for info in caches)


def _stored(server: LiveServer, table: str, column: str, key: Any) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async with server.runtime.engine.connect() as conn:
            query = sa.text(f"SELECT * FROM {table} WHERE {column} = :key")  # names are this test's own
            return dict((await conn.execute(query, {"key": key})).mappings().one())

    return server.run(read())


def _history(server: LiveServer, key: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    revision = _stored(server, "directus_revisions", "item", str(key))
    activity = _stored(server, "directus_activity", "id", revision["activity"])
    assert activity["collection"] == revision["collection"] == "kinds"
    drop = {"id", "activity", "item", "timestamp"}
    return (
        {k: v for k, v in activity.items() if k not in drop},
        {k: v for k, v in revision.items() if k not in drop},
    )


@pytest.mark.parametrize("body", [FULL, SPARSE], ids=["every-type", "nulls-and-empties"])
def test_a_create_stores_what_sqlalchemy_stores(srv: LiveServer, body: dict[str, Any]) -> None:
    fast, slow = _both(srv, body)
    assert fast.status_code == slow.status_code == 200, (fast.text, slow.text)
    keys = fast.json()["data"]["id"], slow.json()["data"]["id"]
    assert isinstance(keys[0], int) and keys[1] == keys[0] + 1
    rows = [_stored(srv, "kinds", "id", key) for key in keys]
    for row in rows:
        if body.get("secret"):
            assert str(row["secret"]).startswith("$argon2")
    same = [{k: v for k, v in row.items() if k not in VOLATILE} for row in rows]
    assert same[0] == same[1]
    assert [_history(srv, key) for key in keys][0] == _history(srv, keys[1])
    replies = [{k: v for k, v in r.json()["data"].items() if k not in VOLATILE} for r in (fast, slow)]
    assert replies[0] == replies[1]


def test_a_create_with_its_key_given_stores_it(srv: LiveServer) -> None:
    fast, slow = _both(srv, {"id": 900001, "name": "given"})
    assert (fast.status_code, slow.status_code) == (200, 400)  # the same key again: not unique
    assert fast.json()["data"]["id"] == 900001
    assert _stored(srv, "kinds", "id", 900001)["name"] == "given"
    with _through_sqlalchemy(srv):
        reference = _create(srv, {"id": 900002, "name": "given"})
    assert reference.status_code == 200
    after = _create(srv, {"name": "next"})  # the key's sequence was moved past the given keys
    assert after.status_code == 200 and after.json()["data"]["id"] > 900002


# The database's refusals (True), and those the payload's checks make first, for the same answer either way.
CONSTRAINTS: dict[str, tuple[dict[str, Any], bool]] = {
    "unique": ({"code": "same-code"}, True),
    "foreign-key": ({"parent": 987654321}, True),
    "not-null": ({"needed": None}, False),
    "too-long": ({"name": "x" * 13}, False),
    "out-of-range": ({"qty": 2**31}, False),
    "big-out-of-range": ({"big": 2**63}, False),
}


@pytest.mark.parametrize(("body", "reaches_database"), CONSTRAINTS.values(), ids=CONSTRAINTS.keys())
def test_a_broken_constraint_is_the_same_error_on_both_paths(
    srv: LiveServer, body: dict[str, Any], reaches_database: bool
) -> None:
    if "code" in body:
        with _through_sqlalchemy(srv):
            assert _create(srv, body).status_code == 200  # the value both attempts then collide with
    fast, slow = _both(srv, body, reaches_database)
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert fast.status_code in (400, 422), fast.text
    assert fast.json() == slow.json()


def _logged_after(server: LiveServer, seq: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The events logged after ``seq``: collection, action and body, each body checked to be the very text
    ``eventlog.encode_body`` writes for it."""

    async def read() -> list[tuple[str, str, dict[str, Any]]]:
        async with server.runtime.engine.connect() as conn:
            events = await eventlog.read_after(conn, seq)
            query = sa.select(system.event_log.c.body).where(system.event_log.c.seq > seq)
            bodies = (await conn.execute(query.order_by(system.event_log.c.seq))).scalars().all()
        assert bodies == [eventlog.encode_body(event).decode() for event in events]
        return [(e.collection, e.action, {"keys": list(e.keys), "origin": e.origin, "extra": e.extra}) for e in events]

    return server.run(read())


def _last_seq(server: LiveServer) -> int:
    async def read() -> int:
        async with server.runtime.engine.connect() as conn:
            return (await eventlog.counters(conn))[eventlog.LAST]

    return server.run(read())


def _history_events_of(server: LiveServer, events: list[tuple[str, str, dict[str, Any]]], key: Any) -> None:
    """``events`` are the item's event, then its activity row's and its revision's create events."""
    revisions = _history_rows(server, key)
    revision = revisions[-1]
    assert [(c, a) for c, a, _ in events[1:]] == [("directus_activity", "create"), ("directus_revisions", "create")]
    assert [body["keys"] for _, _, body in events] == [[key], [revision["activity"]], [revision["id"]]]


def _history_rows(server: LiveServer, key: Any) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        async with server.runtime.engine.connect() as conn:
            query = sa.select(system.revisions).where(system.revisions.c.item == str(key))
            return [dict(row) for row in (await conn.execute(query.order_by(system.revisions.c.id))).mappings()]

    return server.run(read())


def test_a_create_logs_what_sqlalchemy_logs(srv: LiveServer) -> None:
    """A create is one statement on the direct path (``services/pg_create.py``): the same events, numbered in
    the same order, with the same bodies, as SQLAlchemy's path logs."""
    start = _last_seq(srv)
    fast, slow = _both(srv, {"name": "logged"})
    assert fast.status_code == slow.status_code == 200
    logged = _logged_after(srv, start)
    assert _last_seq(srv) == start + 6 and len(logged) == 6  # gap-free: the item, its activity, its revision
    for events, reply in ((logged[:3], fast), (logged[3:], slow)):
        assert events[0][:2] == ("kinds", "create")
        _history_events_of(srv, events, reply.json()["data"]["id"])
    assert [body | {"keys": None} for _, _, body in logged[:3]] == [body | {"keys": None} for _, _, body in logged[3:]]


def test_an_update_logs_what_sqlalchemy_logs(srv: LiveServer) -> None:
    """An update's history rows and the event log's append are one statement on the direct path
    (``services/pg_logged.py``): the same events, numbered in the same order, with the same bodies."""
    with srv.client() as admin:
        created = admin.post("/items/kinds", json={"name": "to update"})
        key = created.json()["data"]["id"]
        start = _last_seq(srv)
        statements = pg_logged._with_history.cache_info()
        fast = admin.patch(f"/items/kinds/{key}", json={"name": "fast"})
        after = pg_logged._with_history.cache_info()
        assert (after.hits + after.misses) == (statements.hits + statements.misses) + 1, "the direct path ran"
        with _through_sqlalchemy(srv):
            slow = admin.patch(f"/items/kinds/{key}", json={"name": "slow"})
    assert fast.status_code == slow.status_code == 200
    logged = _logged_after(srv, start)
    assert _last_seq(srv) == start + 6 and len(logged) == 6
    for events in (logged[:3], logged[3:]):
        assert events[0][:2] == ("kinds", "update")
    _history_events_of(srv, logged[3:], key)
    revisions = _history_rows(srv, key)[-2:]
    assert [body["keys"] for _, _, body in logged[:3]][1:] == [[revisions[0]["activity"]], [revisions[0]["id"]]]
    assert [r["data"]["name"] for r in revisions] == ["fast", "slow"]
    assert [body | {"keys": None} for _, _, body in logged[:3]] == [body | {"keys": None} for _, _, body in logged[3:]]
